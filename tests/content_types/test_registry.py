"""Declarative types: shipped definitions compile; a site profile overrides or adds; bad ones stop start-up."""

import shutil
import subprocess
import sys
import textwrap

import colander
import pytest

from duban_archive.content_types.registry import TypeRegistry
from duban_archive.definitions import DefinitionError
from duban_archive.testing import project_root


def write(tmp_path, name, text):
    folder = tmp_path / "definitions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_shipped_types_have_stable_names_and_ledger_fields():
    reg = TypeRegistry().load()
    assert {t.name for t in reg} >= {"supervision_item", "internet_plus_item", "hotline_ticket", "proposal",
                                     "feedback_report", "instruction"}
    item = reg["supervision_item"]
    assert [f.name for f in item.fields][:5] == ["title", "source", "content", "requirement", "standard"]
    # hotline tickets extend the ledger fields with their own
    assert {"lead_unit", "deadline", "ticket_kind", "caller_phone"} <= set(reg["hotline_ticket"].field_map)


def test_profile_adds_a_field_to_a_shipped_type(tmp_path):
    profile = write(tmp_path, "supervision_item.toml", """
        [type]
        name = "supervision_item"
        title = "督办事项"
        kind = "item"
        [[fields]]
        name = "title"
        title = "事项名称"
        required = true
        [[fields]]
        name = "budget"
        title = "投资额（万元）"
        kind = "int"
    """)
    reg = TypeRegistry().load(profile)
    assert reg["supervision_item"].field_map["budget"].title == "投资额（万元）"
    schema = reg["supervision_item"].schema("add")
    with pytest.raises(colander.Invalid):
        schema.deserialize({"title": "x", "budget": "很多"})


@pytest.mark.parametrize("body, expected", [
    ('[type]\nname = "bad"\ntitle = "坏"\nkind = "item"\n[[fields]]\nname = "x"\ntitle = "X"\nkind = "colour"\n',
     "fields[0](x).kind"),
    ('[type]\nname = "bad"\ntitle = "坏"\nkind = "item"\n[[fields]]\nname = "x"\nkind = "text"\n',
     "fields[0](x).title"),
    ('[type]\nname = "bad"\ntitle = "坏"\nkind = "item"\n[[fields]]\nname = "x"\ntitle = "X"\nkind = "choice"\n'
     'vocabulary = "nope"\n', "vocabulary"),
    ('[type]\nname = "Bad Name"\ntitle = "坏"\nkind = "item"\n', "type.name"),
    ('[type\nname = "bad"', "TOML"),
])
def test_bad_definition_is_refused_naming_file_and_field(tmp_path, body, expected):
    profile = write(tmp_path, "broken.toml", body)
    with pytest.raises(DefinitionError) as exc:
        TypeRegistry().load(profile)
    assert "broken.toml" in str(exc.value) and expected in str(exc.value)


def test_app_refuses_to_start_with_a_bad_profile(tmp_path):
    profile = write(tmp_path / "profile", "broken.toml", '[type]\nname = "bad"\ntitle = "坏"\nkind = "robot"\n')
    ini = tmp_path / "site.ini"
    shutil.copy(project_root() / "testing.ini", ini)
    text = ini.read_text().replace("# duban.profile_dir = %(here)s/profile", f"duban.profile_dir = {profile}")
    ini.write_text(text)
    env = {"DUBAN_VAR_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "duban_archive.scripts.cli", "init", str(ini)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode != 0
    assert "broken.toml" in run.stderr and "type.kind" in run.stderr
