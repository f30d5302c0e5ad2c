"""``pip install .`` must give a working app: every data file ships inside the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from duban_archive.testing import project_root

DATA_PATTERNS = ("*.toml", "*.pt", "*.po", "*.mo", "*.css", "*.js", "*.html")


@pytest.mark.slow
def test_wheel_contains_every_definition_template_and_locale_file(tmp_path):
    root = project_root()
    src = tmp_path / "src"
    # build from a copy, so the shared working tree gets no build/ or egg-info churn
    shutil.copytree(root / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next((tmp_path / "dist").glob("duban_archive-*.whl"))
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = root / "src" / "duban_archive"
    expected = {
        "duban_archive/" + p.relative_to(package).as_posix()
        for pattern in DATA_PATTERNS for p in package.rglob(pattern)
        if "__pycache__" not in p.parts
    }
    assert any(p.endswith(".toml") for p in expected) and any(p.endswith(".pt") for p in expected)
    missing = sorted(expected - shipped)
    assert not missing, f"not in the wheel (extend package_data in setup.py): {missing}"
    entry_points = next(n for n in shipped if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "duban-archive = duban_archive.scripts.cli:main" in text
    assert "[paste.server_runner]" in text and "[paste.app_factory]" in text
