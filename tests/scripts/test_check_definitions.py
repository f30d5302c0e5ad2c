"""``duban-archive check-definitions`` and start-up refusal, run as real subprocesses (issue 16).

A profile with one misspelt key in every kind of definition: the command prints every problem
(file and key path each) and exits 1; a clean profile exits 0; it reads files only, so it runs
beside a site holding its database; the site itself refuses to start, naming the same problems.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from duban_archive.definitions import DefinitionError
from duban_archive.testing import project_root

BIN = Path(sys.executable).parent
SRC = project_root() / "src" / "duban_archive"

#: one typo in every kind: (profile file, text, problem expected in the output)
BROKEN = {
    "definitions/local_item.toml": ("""
        [type]
        name = "local_item"
        title = "本地事项"
        extends = "supervision_item"
        [[fields]]
        name = "budget"
        title = "投资额"
        kind = "int"
        requird = true
    """, "fields[0](budget).requird: 未知键（可能是拼写错误，是否应为 required？"),
    "boards/boards.toml": (None, "boards[0](rcgl).titel: 未知键（可能是拼写错误，是否应为 title？"),
    "workflows/duban.toml": (None, "transitions.cancel.gaurd: 未知键（可能是拼写错误，是否应为 guard？"),
    "workflows/hotline.toml": (None, "transitions.file.permision: 未知键（可能是拼写错误，是否应为 permission？"),
    "rules/zdgc.toml": (None, "ruleset.chanels: 未知键（可能是拼写错误，是否应为 channels？"),
    "scoring/rules/yunhe.toml": (None, "ruleset.bsae: 未知键（可能是拼写错误，是否应为 base？"),
    "scoring/definitions/grading.toml": (None, "grades[0].critera: 未知键（可能是拼写错误，是否应为 criteria？"),
    "archive/rules/retention.toml": (None, "retention.defualt: 未知键（可能是拼写错误，是否应为 default？"),
}
#: the shipped file each broken copy starts from, and the typo put into it
SHIPPED = {
    "boards/boards.toml": ("content_types/boards/boards.toml", 'title = "日常管理事项"', 'titel = "日常管理事项"'),
    "workflows/duban.toml": ("workflows/definitions/duban.toml", 'guard = "duban_archive.workflows.hooks:distinct',
                             'gaurd = "duban_archive.workflows.hooks:distinct'),
    "workflows/hotline.toml": ("workflows/definitions/hotline.toml", 'permission = "file"', 'permision = "file"'),
    "rules/zdgc.toml": ("notifications/rules/zdgc.toml", "channels = [", "chanels = ["),
    "scoring/rules/yunhe.toml": ("scoring/rules/yunhe.toml", "base = 100", "bsae = 100"),
    "scoring/definitions/grading.toml": ("scoring/definitions/grading.toml", "criteria = ", "critera = "),
    "archive/rules/retention.toml": ("archive/rules/retention.toml", 'default = "D30"', 'defualt = "D30"'),
}

#: a misspelt required key is reported twice: unknown, and the real one missing (boards, grading)
EXPECTED = len(BROKEN) + 2


def make_profile(root: Path, broken: bool) -> Path:
    """Every shipped file copied into the profile's folder for its kind (typos when ``broken``)."""
    profile = root / ("broken" if broken else "clean")
    for name, (text, _) in BROKEN.items():
        if text is None:
            shipped, old, new = SHIPPED[name]
            text = (SRC / shipped).read_text("utf-8")
            assert old in text, name
            if broken:
                text = text.replace(old, new, 1)
        else:
            text = textwrap.dedent(text)
            if not broken:
                text = text.replace("requird", "required")
        path = profile / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return profile


def ini_for(tmp_path: Path, profile: Path | None, extra: str = "") -> Path:
    text = (project_root() / "testing.ini").read_text("utf-8")
    if profile is not None:
        text = text.replace("[app:main]\n", f"[app:main]\nduban.profile_dir = {profile}\n{extra}", 1)
    ini = tmp_path / "site.ini"
    ini.write_text(text, "utf-8")
    return ini


def run(var: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DUBAN_VAR_DIR": str(var)}  # PYTHONPATH inherited: this checkout
    return subprocess.run([str(BIN / "duban-archive"), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_clean_definitions_and_a_clean_profile_pass(tmp_path):
    proc = run(tmp_path / "var", "check-definitions")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "内置定义（未指定站点配置目录）：全部通过"
    profile = make_profile(tmp_path, broken=False)
    proc = run(tmp_path / "var", "check-definitions", "--profile", str(profile))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == f"内置定义 + 站点配置目录 {profile}：全部通过"


def test_a_broken_profile_reports_every_problem_with_file_and_key(tmp_path):
    profile = make_profile(tmp_path, broken=True)
    proc = run(tmp_path / "var", "check-definitions", "--profile", str(profile))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    for name, (_, problem) in BROKEN.items():
        assert any(line.startswith(f"{profile / name}: {problem}") for line in lines), (name, proc.stdout)
    assert len(lines) == EXPECTED
    assert proc.stderr.strip() == f"内置定义 + 站点配置目录 {profile}：{EXPECTED} 个问题"
    assert "Traceback" not in proc.stderr


def test_the_ini_names_the_profile_and_the_scoring_rules(tmp_path):
    ini = ini_for(tmp_path, make_profile(tmp_path, broken=False), "duban.scoring_rules = yunhee\n")
    proc = run(tmp_path / "var", "check-definitions", str(ini))
    assert proc.returncode == 1
    assert proc.stdout.strip() == ("duban.scoring_rules: 未知的计分规则 'yunhee'"
                                   "（是否应为 yunhe？可选：sanmenxia、suzhou、yaodu、yunhe）")
    proc = run(tmp_path / "var", "check-definitions", str(tmp_path / "missing.ini"))
    assert proc.returncode == 2 and "找不到配置文件" in proc.stderr


def test_it_runs_beside_a_site_holding_its_database(app, var_dir, tmp_path):
    """The ``app`` fixture holds the FileStorage lock in ``var_dir``: opening it would fail."""
    proc = run(var_dir, "check-definitions", str(project_root() / "testing.ini"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "var2").exists()


def test_the_site_refuses_to_start_naming_every_problem(tmp_path):
    ini = ini_for(tmp_path, make_profile(tmp_path, broken=True))
    proc = run(tmp_path / "var", "init", str(ini))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("错误：定义文件有误，站点不能启动 / invalid definition files:\n")
    for name, (_, problem) in BROKEN.items():
        assert f"{tmp_path / 'broken' / name}: {problem}" in proc.stderr, name
    assert not (tmp_path / "var" / "Data.fs").exists()  # refused before the database was opened


def test_the_site_starts_with_a_clean_profile_of_every_kind(tmp_path, monkeypatch):
    """Each kind reads its own profile folder: a reminder rule set in ``rules/`` is not read as a
    scoring rule set or a 保管期限表, a grading file is not read as a content type."""
    from pyramid.paster import get_app

    monkeypatch.setenv("DUBAN_VAR_DIR", str(tmp_path / "var"))
    app = get_app(str(ini_for(tmp_path, make_profile(tmp_path, broken=False))))
    try:
        assert "local_item" in {t.name for t in app.registry.duban_types}
        assert app.registry.duban_reminder_rules.for_board("zdgc").source.startswith(str(tmp_path))
        assert app.registry.duban_scoring_rules.source.startswith(str(tmp_path))
    finally:
        for db in app.registry._zodb_databases.values():
            db.close()


def test_get_app_raises_one_definition_error_listing_every_problem(tmp_path, monkeypatch):
    from pyramid.paster import get_app

    monkeypatch.setenv("DUBAN_VAR_DIR", str(tmp_path / "var"))
    with pytest.raises(DefinitionError) as exc:
        get_app(str(ini_for(tmp_path, make_profile(tmp_path, broken=True))))
    assert len(exc.value.problems) == EXPECTED


def test_files_in_another_kinds_folder_are_told_where_they_belong(tmp_path):
    """Scoring rules, grading and retention used to be read from the profile's ``rules/`` and
    ``definitions/`` (and broke start-up there); a profile still using those places is told so."""
    profile = tmp_path / "old"
    for shipped, name in [("archive/rules/retention.toml", "rules/retention.toml"),
                          ("scoring/rules/yunhe.toml", "rules/yunhe.toml"),
                          ("scoring/definitions/grading.toml", "definitions/grading.toml"),
                          ("notifications/rules/zdgc.toml", "scoring/rules/zdgc.toml")]:
        (profile / name).parent.mkdir(parents=True, exist_ok=True)
        (profile / name).write_text((SRC / shipped).read_text("utf-8"), "utf-8")
    proc = run(tmp_path / "var", "check-definitions", "--profile", str(profile))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        f"{profile}/definitions/grading.toml: (文件): 这是评价定义 (grading.toml)："
        "应放在站点配置目录的 scoring/definitions/",
        f"{profile}/rules/retention.toml: (文件): 这是保管期限表 (retention.toml)：应放在站点配置目录的 archive/rules/",
        f"{profile}/rules/yunhe.toml: (文件): 这是计分规则：应放在站点配置目录的 scoring/rules/",
        f"{profile}/scoring/rules/zdgc.toml: (文件): 这是提醒规则：应放在站点配置目录的 rules/",
    ]
