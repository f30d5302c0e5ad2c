"""One notice mechanism for every seed (issue 14): ``[notices.<transition>]``, ``[notices.feedback]``
and ``[state_notices.<state>]`` bodies name the placeholders of ``NOTICE_FIELDS`` — the 13710 files'
``{deadline} {reason} {unit} …`` and the 12345 file's ``{limit}`` alike — checked when the file loads."""

import textwrap

import pytest

from duban_archive.content_types.site_access import open_site
from duban_archive.definitions import DefinitionError
from duban_archive.notifications.outbox import get_outbox
from duban_archive.notifications.rules import ReminderRules
from duban_archive.notifications.schema import NOTICE_FIELDS
from duban_archive.timeutil import frozen_now

from ..seed003.helpers import Desk, at


def test_every_shipped_notice_body_renders():
    rules = ReminderRules.load()
    values = {name: f"<{name}>" for name in NOTICE_FIELDS}
    seen = set()
    for rs in rules.rulesets:
        for notice in [*rs.notices.values(), *rs.state_notices.values()]:
            if notice.get("body"):
                assert "{" not in notice["body"].format(**values)
                seen.add(rs.name)
    assert {"hotline", "13710", "zdgc"} <= seen


def _profile(tmp_path, body):
    (tmp_path / "rules").mkdir(parents=True)
    (tmp_path / "rules" / "zdgc.toml").write_text(textwrap.dedent(f"""
        [ruleset]
        name = "zdgc"
        title = "本地重点工程规则"
        boards = ["zdgc"]
        states = ["in_progress"]
        notify = ["lead:unit_head"]
        [notices.assign]
        notify = ["lead:unit_head"]
        body = "{body}"
        """), encoding="utf-8")
    return tmp_path


def test_both_deadline_placeholders_are_accepted_and_a_typo_is_refused(tmp_path):
    body = "{number}《{title}》{limit}；办理时限 {deadline}，{unit}"
    assert ReminderRules.load(_profile(tmp_path / "a", body)).for_board("zdgc").notices["assign"]["body"] == body
    with pytest.raises(DefinitionError) as exc:
        ReminderRules.load(_profile(tmp_path / "b", "{number}{dealine}"))
    assert "未知的占位符 {dealine}" in str(exc.value)


def test_a_feedback_report_sends_its_notice_and_no_state_notice(app, testapp):
    d = Desk(testapp)
    t = d.new_ticket("consultation", "2026-03-09 08:00")
    d.fire(d.sup, t, "dispatch", "2026-03-09 09:00")
    d.fire(d.head, t, "accept", "2026-03-09 10:00")
    rs = app.registry.duban_reminder_rules.for_board("hotline")
    with open_site(app.registry) as site:
        state = site.get_item(t).state
    rs.state_notices[state] = {"notify": ("supervisor",), "subject": "进入本状态", "body": "{number}{limit}"}
    try:
        with frozen_now(at("2026-03-09 15:00")):
            d.handler.post(f"/api/v1/items/{t}/feedback", {"done": "已联系诉求人", "progress": "处理中"},
                            status=201)
    finally:
        del rs.state_notices[state]
    with open_site(app.registry) as site:
        rules = [m.rule for m in get_outbox(site).for_item(t) if m.kind == "notice" and m.channel == "inbox"]
    assert "feedback" in rules
    assert f"state:{state}" not in rules
