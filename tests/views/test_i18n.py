"""The English catalog covers the UI and the shipped .mo matches the .po."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from babel.messages.mofile import read_mo

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = ["layout.pt", "login.pt", "logout.pt", "error.pt", "home.pt", "board.pt", "item_rows.pt", "form.pt",
            "item.pt", "upload.pt"]
UI_MODULES = ["auth.py", "board.py", "errors.py", "home.py", "item.py", "attachments.py", "display.py",
              "panels.py", "admin.py"]
UI_FILES += ["admin_users.pt", "admin_units.pt"]


def _tool():
    spec = importlib.util.spec_from_file_location("i18n_catalog", ROOT / "tools" / "i18n_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_ui_msgid_has_english_and_mo_is_compiled():
    tool = _tool()
    views = ROOT / "src" / "duban_archive" / "views"
    used: set[str] = set(tool.EXTRA)
    for path in [views / "templates" / f for f in UI_FILES] + [views / f for f in UI_MODULES]:
        if path.exists():
            text = path.read_text(encoding="utf-8")
            for pattern in tool.PATTERNS:
                used.update(m for m in pattern.findall(text) if tool.CJK.search(m))
    assert len(used) > 80
    catalog = tool.load()
    missing = sorted(m for m in used if m not in catalog or not catalog[m].string)
    assert not missing, f"run tools/i18n_catalog.py extract and translate: {missing}"
    with tool.MO.open("rb") as f:
        compiled = read_mo(f)
    stale = sorted(m.id for m in catalog if m.id and m.string and
                   (m.id not in compiled or compiled[m.id].string != m.string))
    assert not stale, f"run tools/compile-catalogs.sh: {stale[:5]}"


def test_colander_errors_in_chinese_by_default(testapp):
    from duban_archive.testing import login

    login(testapp, "supervisor")
    res = testapp.get("/boards/zdgz/@@add").forms["add-item"].submit(status=400)
    assert "Required" not in res.text
    assert "必填" in res.text or "必需" in res.text
