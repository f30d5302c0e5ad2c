#!/usr/bin/env bash
# Front-end assets from the npm registry, served locally (no CDN):
# Bootstrap 5 for the deform 3 templates, ECharts for the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=src/duban_archive/static/vendor
if [ -f "$dest/.installed" ] && [ "$dest/.installed" -nt tools/package.json ]; then exit 0; fi
if ! command -v npm >/dev/null; then echo "npm not found: UI will be unstyled" >&2; exit 0; fi
work=$(mktemp -d)
cp tools/package.json "$work/"
(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
mkdir -p "$dest"
cp "$work/node_modules/bootstrap/dist/css/bootstrap.min.css" "$dest/"
cp "$work/node_modules/bootstrap/dist/js/bootstrap.bundle.min.js" "$dest/"
cp "$work/node_modules/echarts/dist/echarts.min.js" "$dest/"
rm -rf "$work"
touch "$dest/.installed"
