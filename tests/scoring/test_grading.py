"""Closing an item requires a grade A–D (seed 000); 互联网+督查 items may be graded per stage."""

import pytest
import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.workflows.engine import WorkflowError

LEADER = ["user:leader", "role:leader"]


def _reviewed(app, make_item, board="zdgz"):
    item_id = make_item(board)
    with open_site(app.registry) as site:
        # the road to 待办结审批 is the workflow engineer's to test; we start at its end
        site.get_item(item_id).state = "reviewed"
        transaction.commit()
    return item_id


def test_close_without_grade_is_refused_and_changes_nothing(app, make_item):
    item_id = _reviewed(app, make_item)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        with pytest.raises(WorkflowError) as err:
            wf.fire(item, "close", "leader", LEADER, {}, site=site)
        assert err.value.status == 400 and "grade" in err.value.fields
        with pytest.raises(WorkflowError) as err:
            wf.fire(item, "close", "leader", LEADER, {"grade": "E"}, site=site)
        assert "可选" in err.value.fields["grade"]
        assert item.state == "reviewed" and getattr(item, "grade", None) is None


def test_close_stores_the_grade_and_criteria_are_shown(app, make_item):
    item_id = _reviewed(app, make_item)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        field = next(f for f in wf.transitions["close"].fields if f.name == "grade")
        assert "反映主体对办理结果满意认可" in field.description  # B 良好 criteria of seed 000
        assert [c.title for c in field.choices] == ["A 优秀", "B 良好", "C 合格", "D 不合格"]
        wf.fire(item, "close", "leader", LEADER, {"grade": "B", "comment": "办理较好"}, site=site)
        transaction.commit()
        assert item.state == "closed" and item.grade == "B" and item.stage_grades == {}
        assert item.history[-1]["fields"]["grade"] == "B"


def test_internet_plus_close_takes_the_seven_stage_grades(app, make_item):
    item_id = _reviewed(app, make_item, board="internet_plus")
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        stages = [f.name for f in wf.transitions["close"].fields if f.name.startswith("stage_")]
        assert len(stages) == 7
        wf.fire(item, "close", "leader", LEADER,
                {"grade": "A", "stage_receive": "A", "stage_verify": "B"}, site=site)
        transaction.commit()
        assert item.grade == "A"
        assert item.stage_grades == {"receive": "A", "verify": "B"}
