"""The English catalog covers the UI and the shipped .mo matches the .po."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from babel.messages.mofile import read_mo

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("i18n_catalog", ROOT / "tools" / "i18n_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_ui_msgid_has_english_and_mo_is_compiled():
    tool = _tool()
    used = tool.source_msgids()  # every view module and template, so a new page cannot be missed
    assert len(used) > 150
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
    assert "请填写标题" in res.text and "必需" not in res.text


def test_with_english_chosen_form_errors_name_the_field_in_english(testapp):
    """「请填写${title}」 carries the field's title as a msgid: an English reader gets both in English."""
    import re

    from duban_archive.testing import login

    login(testapp, "supervisor")
    testapp.get("/@@lang?to=en&came_from=%2F")
    res = testapp.get("/boards/zdgz/@@add").forms["add-item"].submit(status=400)
    assert "Please fill in Title" in res.text
    errors = re.findall(r'class="invalid-feedback"[^>]*>\s*([^<]+)<', res.text)
    assert errors and not [e for e in errors if re.search(r"[\u4e00-\u9fff]", e)], errors
