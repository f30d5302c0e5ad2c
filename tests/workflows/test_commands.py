"""Definitions refused at start-up, check-workflows, workflow-diagram, remap, calendar (CLI)."""

from pathlib import Path

import pytest
import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.definitions import DefinitionError
from duban_archive.scripts.cli import main
from duban_archive.testing import project_root
from duban_archive.workflows.engine import WorkflowRegistry

SHIPPED = project_root() / "src" / "duban_archive" / "workflows" / "definitions"


def _profile(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "profile" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text(text, "utf-8")
    return tmp_path / "profile"


def _ini(tmp_path: Path, profile: Path | None) -> str:
    text = (project_root() / "testing.ini").read_text("utf-8")
    if profile is not None:
        text = text.replace("[app:main]\n", f"[app:main]\nduban.profile_dir = {profile}\n", 1)
    ini = tmp_path / "site.ini"
    ini.write_text(text, "utf-8")
    return str(ini)


@pytest.mark.parametrize("change,where", [
    (('to = "approved"', 'to = "nowhere"'), "transitions.approve.to"),
    (('to = "approved"\nroles = ["leader"]', 'to = "approved"\nroles = ["mayor"]'), "transitions.approve.roles"),
    (('duration = "P3D"', 'duration = "3 days"'), "transitions.assign.deadlines[1](report_3d).duration"),
    (('after = "duban_archive.workflows.hooks:store_problem_kind"', 'after = "duban_archive.nope:x"'),
     "transitions.assign.after"),
])
def test_a_broken_definition_is_refused_naming_file_and_field(tmp_path, change, where):
    text = (SHIPPED / "duban.toml").read_text("utf-8")
    assert change[0] in text
    profile = _profile(tmp_path, "duban", text.replace(change[0], change[1], 1))
    with pytest.raises(DefinitionError) as exc:
        WorkflowRegistry().load(profile)
    assert str(profile / "workflows" / "duban.toml") in str(exc.value) and where in str(exc.value)


def test_check_workflows_reports_problems_and_exit_code(tmp_path, var_dir, capsys):
    assert main(["check-workflows", _ini(tmp_path, None)]) == 0
    assert "duban（督办事项流程）：通过" in capsys.readouterr().out
    text = (SHIPPED / "duban.toml").read_text("utf-8")
    text += '\n[states.limbo]\ntitle = "悬空"\n[states.limbo.permissions]\nview = ["supervisor"]\n'
    text += '\n[transitions.anyone]\ntitle = "谁都能做"\nfrom = ["registered"]\nto = "approved"\n'
    text = text.replace('[transitions.file]\ntitle = "立卷归档"\nfrom = ["closed"]',
                        '[transitions.file]\ntitle = "立卷归档"\nfrom = ["cancel_reviewed"]')
    ini = _ini(tmp_path, _profile(tmp_path, "duban", text))
    assert main(["check-workflows", ini]) == 1
    out = capsys.readouterr().out
    assert "states.limbo（悬空）: 不可达状态" in out and "非终态却没有任何流转可离开" in out
    assert "transitions.anyone（谁都能做）: 没有任何守卫" in out
    assert "缺少流转 file（closed -> archived）" in out


def test_workflow_diagram_command(tmp_path, var_dir, capsys):
    assert main(["workflow-diagram", _ini(tmp_path, None), "internet_plus"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<svg") and "开展实地核查" in out and "反馈报告" in out
    assert main(["workflow-diagram", _ini(tmp_path, None), "nope"]) == 2


def test_remap_reapplies_acls_after_a_definition_change(tmp_path, app, make_item, capsys):
    item_id = make_item()
    with open_site(app.registry) as site:
        assert not any(p == "role:records_officer" for _, p, _ in site.get_item(item_id).__acl__)
    text = (SHIPPED / "duban.toml").read_text("utf-8").replace(
        '[states.registered.permissions]\nview = ["supervisor", "leader", "sysadmin", "auditor"]',
        '[states.registered.permissions]\nview = ["supervisor", "leader", "sysadmin", "auditor", "records_officer"]')
    ini = _ini(tmp_path, _profile(tmp_path, "duban", text))
    app.registry._zodb_databases[""].close()  # the command opens the same FileStorage
    assert main(["remap", ini]) == 0
    assert "重算 1 个事项" in capsys.readouterr().out
    from pyramid.paster import get_app

    again = get_app(ini)
    with open_site(again.registry) as site:
        acl = site.get_item(item_id).__acl__
        assert ("Allow", "role:records_officer", "view") in acl
        from duban_archive.catalog.listing import query_items

        total, _ = query_items(site, ["role:records_officer"])
        assert total == 1  # the listing index follows the new ACL
        transaction.abort()
    for db in again.registry._zodb_databases.values():
        db.close()


def test_calendar_command(tmp_path, app, capsys):
    ini = _ini(tmp_path, None)
    app.registry._zodb_databases[""].close()
    assert main(["calendar", ini, "--year", "2027", "--holidays", "2027-01-01,2026-05-01"]) == 1
    assert "不属于 2027 年" in capsys.readouterr().err
    assert main(["calendar", ini, "--year", "2027", "--holidays", "2027-01-01,2027-02-06",
                 "--workdays", "2027-02-20"]) == 0
    assert main(["calendar", ini]) == 0
    assert "2027：节假日 2 天，调休上班 1 天" in capsys.readouterr().out


def test_a_board_bound_to_an_unknown_workflow_stops_start_up(tmp_path, var_dir):
    from pyramid.paster import get_app

    folder = tmp_path / "profile" / "boards"
    folder.mkdir(parents=True)
    (folder / "boards.toml").write_text('[[boards]]\nid = "zdgz"\ntitle = "重点工作任务"\nprefix = "ZDGZ"\n'
                                        'workflow = "nope"\nitem_type = "supervision_item"\n', "utf-8")
    with pytest.raises(DefinitionError) as exc:
        get_app(_ini(tmp_path, tmp_path / "profile"))
    assert "boards" in str(exc.value) and "(zdgz).workflow" in str(exc.value) and "nope" in str(exc.value)
