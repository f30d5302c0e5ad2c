#!/usr/bin/env bash
# Compile the English catalog (.po -> .mo shipped in the package).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" tools/i18n_catalog.py compile
