"""Permission matrix: every workflow × state × role × action (permission or transition).

The table is the specification, reviewed against seeds 000–004: who may see,
change, report on and move an item in each state.  Users: S 督查室, L 领导,
H/h 主办单位 (住建局) 负责人/承办人, H2/h2 协办单位 (交通局), X an unrelated unit
(城管局, both unit roles), R 档案员, A 业务审计员, M 系统管理员, SA 安全保密管理员, SU 安全审计员
(三员分立: the system administrator reads items but not their audit trail).  An action not listed
for a state is refused to everyone.
"""

import pytest
from pyramid.authorization import ACLHelper

from duban_archive.content_types.item import SupervisionItem
from duban_archive.security.roles import user_principals
from duban_archive.workflows.engine import WorkflowRegistry

USERS = {
    "S": ("supervisor", ("supervisor",), "zfb"),
    "L": ("leader", ("leader",), "zfb"),
    "H": ("unit_head", ("unit_head",), "zjj"),
    "h": ("handler", ("handler",), "zjj"),
    "H2": ("unit_head2", ("unit_head",), "jtj"),
    "h2": ("handler2", ("handler",), "jtj"),
    "X": ("outsider", ("handler", "unit_head"), "cgj"),
    "R": ("records_officer", ("records_officer",), "zfb"),
    "A": ("auditor", ("auditor",), "zfb"),
    "M": ("admin", ("sysadmin",), "zfb"),
    # 三员分立: the other two administrators see no item at all
    "SA": ("secadmin", ("secadmin",), "zfb"),
    "SU": ("secauditor", ("secauditor",), "zfb"),
}
PERMISSIONS = (
    "view",
    "edit",
    "add_feedback",
    "add_attachment",
    "add_instruction",
    "view_audit",
    "file",
    "correct_metadata",
)

MATRIX = {
    "duban": {
        "registered": {
            "view": "S L A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "approve": "L",
        },
        "approved": {
            "view": "S L A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "assign": "S",
        },
        "assigned": {
            "view": "S L H h H2 h2 A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "accept": "H",
            "decline": "H",
        },
        "declined": {
            "view": "S L H h A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "assign": "S",
        },
        "in_progress": {
            "view": "S L H h H2 h2 R A M",
            "edit": "S",
            "add_feedback": "H h H2 h2",
            "add_attachment": "S H h H2 h2",
            "add_instruction": "L",
            "view_audit": "S A",
            "request_transfer": "S H",
            "request_extension": "h H",
            "request_long_running": "h H",
            "request_closure": "h H",
            "request_cancel": "H",
        },
        "extension_requested": {
            "view": "S L H h H2 h2 R A M",
            "add_feedback": "H h H2 h2",
            "add_attachment": "S H h",
            "add_instruction": "L",
            "view_audit": "S A",
            "approve_extension": "L",
            "reject_extension": "L",
        },
        "transfer_requested": {
            "view": "S L H h H2 h2 R A M",
            "add_attachment": "S H",
            "add_instruction": "L",
            "view_audit": "S A",
            "approve_transfer": "L",
            "reject_transfer": "L",
        },
        "long_running_requested": {
            "view": "S L H h H2 h2 R A M",
            "add_feedback": "H h H2 h2",
            "add_attachment": "S H h",
            "add_instruction": "L",
            "view_audit": "S A",
            "approve_long_running": "S",
            "reject_long_running": "S",
        },
        "long_running": {
            "view": "S L H h H2 h2 R A M",
            "edit": "S",
            "add_feedback": "H h H2 h2",
            "add_attachment": "S H h H2 h2",
            "add_instruction": "L",
            "view_audit": "S A",
            "request_closure": "h H",
            "request_cancel": "H",
        },
        "closure_requested": {
            "view": "S L H h H2 h2 R A M",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "return": "S",
            "review": "S",
        },
        "reviewed": {
            "view": "S L H h H2 h2 R A M",
            "add_instruction": "L",
            "view_audit": "S A",
            "reject_closure": "L",
            "close": "L",
        },
        "cancel_requested": {
            "view": "S L H h H2 h2 R A M",
            "add_attachment": "S H",
            "add_instruction": "L",
            "view_audit": "S A",
            "review_cancel": "L",
            "reject_cancel": "L",
        },
        "cancel_reviewed": {
            "view": "S L H h H2 h2 R A M",
            "add_instruction": "L",
            "view_audit": "S A",
            "reject_cancel": "L",
            "cancel": "L",
        },
        "closed": {"view": "S L H h H2 h2 R A M", "view_audit": "S R A", "file": "R"},
        "archived": {"view": "S L H h H2 h2 R A M", "view_audit": "S R A", "correct_metadata": "R"},
    },
    "hotline": {
        "registered": {
            "view": "S L A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "dispatch": "S",
        },
        "dispatched": {
            "view": "S L H h H2 h2 A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "accept": "h H",
            "decline": "h H",
        },
        "declined": {
            "view": "S L H h A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "dispatch": "S",
        },
        "in_progress": {
            "view": "S L H h H2 h2 A M",
            "add_feedback": "H h H2 h2",
            "add_attachment": "S H h H2 h2",
            "add_instruction": "L",
            "view_audit": "S A",
            "request_extension": "H",
            "reply": "h H",
        },
        "extension_requested": {
            "view": "S L H h H2 h2 A M",
            "add_feedback": "H h",
            "add_attachment": "S H h",
            "add_instruction": "L",
            "view_audit": "S A",
            "approve_extension": "S",
            "reject_extension": "S",
        },
        "replied": {
            "view": "S L H h H2 h2 R A M",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "return": "S",
            "approve_reply": "S",
        },
        "visiting": {
            "view": "S L H h H2 h2 R A M",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "redo": "S",
            "close": "S",
        },
        "closed": {"view": "S L H h H2 h2 R A M", "view_audit": "S R A", "file": "R"},
        "archived": {"view": "S L H h H2 h2 R A M", "view_audit": "S R A", "correct_metadata": "R"},
    },
    "internet_plus": {
        "registered": {
            "view": "S L A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "approve": "L",
        },
        "approved": {
            "view": "S L A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "assign": "S",
        },
        "received": {
            "view": "S L H h H2 h2 A M",
            "edit": "S",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "accept": "H",
        },
        "deploying": {
            "view": "S L H h H2 h2 A M",
            "add_feedback": "H h",
            "add_attachment": "S H h",
            "add_instruction": "L",
            "view_audit": "S A",
            "deploy": "H",
        },
        "verifying": {
            "view": "S L H h H2 h2 A M",
            "add_feedback": "H h H2 h2",
            "add_attachment": "S H h H2 h2",
            "add_instruction": "L",
            "view_audit": "S A",
            "verify": "h H",
        },
        "improving": {
            "view": "S L H h H2 h2 A M",
            "add_feedback": "H h H2 h2",
            "add_attachment": "S H h H2 h2",
            "add_instruction": "L",
            "view_audit": "S A",
            "improve": "h H",
        },
        "following_up": {
            "view": "S L H h H2 h2 R A M",
            "add_feedback": "H h H2 h2",
            "add_attachment": "S H h H2 h2",
            "add_instruction": "L",
            "view_audit": "S A",
            "report": "H",
        },
        "reported": {
            "view": "S L H h H2 h2 R A M",
            "add_attachment": "S H h",
            "add_instruction": "L",
            "view_audit": "S A",
            "request_closure": "H",
        },
        "closure_requested": {
            "view": "S L H h H2 h2 R A M",
            "add_attachment": "S",
            "add_instruction": "L",
            "view_audit": "S A",
            "return": "S",
            "review": "S",
        },
        "reviewed": {"view": "S L H h H2 h2 R A M", "add_instruction": "L", "view_audit": "S A", "close": "L"},
        "closed": {"view": "S L H h H2 h2 R A M", "view_audit": "S R A", "file": "R"},
        "archived": {"view": "S L H h H2 h2 R A M", "view_audit": "S R A", "correct_metadata": "R"},
    },
}

REGISTRY = WorkflowRegistry().load()
CASES = [(wf, st) for wf, states in MATRIX.items() for st in states]


def test_the_matrix_covers_every_state_and_transition():
    for wf in REGISTRY:
        assert set(MATRIX[wf.name]) == set(wf.states), wf.name
        named = {a for row in MATRIX[wf.name].values() for a in row}
        assert named - set(PERMISSIONS) <= set(wf.transitions)


@pytest.mark.parametrize("workflow,state", CASES)
def test_permission_matrix(workflow, state):
    wf = REGISTRY[workflow]
    item = SupervisionItem("zdgz-2026-0001", "ZDGZ-2026-0001", "zdgz", "supervision_item")
    item.workflow, item.state, item.lead_unit, item.assist_units = workflow, state, "zjj", ("jtj",)
    wf.apply_acl(item)
    expected = {action: set(users.split()) for action, users in MATRIX[workflow][state].items()}
    helper = ACLHelper()
    wrong = []
    for code, (name, roles, unit) in USERS.items():
        principals = ["system.Everyone", "system.Authenticated", *user_principals(name, roles, unit)]
        offered = {t.name for t in wf.available(item, principals)}
        for action in (*PERMISSIONS, *wf.transitions):
            if action in PERMISSIONS:
                got = bool(helper.permits(item, principals, action))
            else:
                got = action in offered
            if got != (code in expected.get(action, set())):
                wrong.append(f"{code} {action}: {'allowed' if got else 'refused'}")
    assert not wrong, wrong
