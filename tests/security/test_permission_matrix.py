"""The permission matrix (role × action) on an item in 办理中, as users meet it through the API.

Any changed cell — in a workflow permission map, the site ACL, the security
policy or a view's check — fails this test.  Change the table only together
with the rule it records.
"""

from __future__ import annotations

import io

import pytest
from pyramid.authorization import ACLHelper, Authenticated, Everyone

from duban_archive.content_types.site_access import open_site
from duban_archive.security.roles import user_principals
from duban_archive.testing import api

Y, N = True, False
ACTIONS = ("view", "edit", "feedback", "upload", "instruct", "audit", "add_item", "manage", "records", "audit_search",
           "grant_roles", "read_audit_log")
SITE_ACTIONS = ACTIONS[7:]

# Item: led by 住建局 (zjj), assisted by 交通局 (jtj), state in_progress (approve -> assign -> accept).
# handler/unit_head are in zjj, handler2 in jtj.
MATRIX = {
    # 三员分立: admin = 系统管理员 (sysadmin), secadmin = 安全保密管理员, secauditor = 安全审计员
    #                  view edit feedback upload instruct audit add_item manage records audit_search grant read_log
    "admin":           (Y,  N,   N,       N,     N,       N,    N,       Y,     N,      N,           N,    N),
    "secadmin":        (N,  N,   N,       N,     N,       N,    N,       N,     N,      N,           Y,    N),
    "secauditor":      (N,  N,   N,       N,     N,       N,    N,       N,     N,      N,           N,    Y),
    "supervisor":      (Y,  Y,   N,       Y,     N,       Y,    Y,       N,     N,      N,           N,    N),
    "leader":          (Y,  N,   N,       N,     Y,       N,    N,       N,     N,      N,           N,    N),
    "unit_head":       (Y,  N,   Y,       Y,     N,       N,    N,       N,     N,      N,           N,    N),
    "handler":         (Y,  N,   Y,       Y,     N,       N,    N,       N,     N,      N,           N,    N),
    "handler2":        (Y,  N,   Y,       Y,     N,       N,    N,       N,     N,      N,           N,    N),
    "records_officer": (Y,  N,   N,       N,     N,       N,    N,       N,     Y,      N,           N,    N),
    "auditor":         (Y,  N,   N,       N,     N,       Y,    N,       N,     N,      Y,           N,    N),
}

NEW_ITEM = {"title": "矩阵测试", "source": "测试", "content": "内容", "requirement": "要求", "lead_unit": "zjj"}


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "PNG")
    return out.getvalue()


def _attempt(client, action: str, item_id: str) -> bool:
    """Do ``action`` through the API; True when allowed (2xx), False when refused with 403."""
    url = f"/api/v1/items/{item_id}"
    status = (200, 201, 403)
    if action == "view":
        res = client.get(url, status=(200, 403))
    elif action == "edit":
        res = client.patch(url, {"standard": "按月报送"}, status=(200, 403))
    elif action == "feedback":
        res = client.post(url + "/feedback", {"done": "已办", "progress": "推进中"}, status=status)
    elif action == "upload":
        res = client.upload(url + "/attachments", {"kind": "photo"}, [("file", "p.png", _png())], status=status)
    elif action == "instruct":
        res = client.post(url + "/instructions", {"text": "抓紧"}, status=status)
    elif action == "audit":
        res = client.get(url + "/audit", status=(200, 403))
    elif action == "add_item":
        res = client.post("/api/v1/boards/zdgz/items", NEW_ITEM, status=status)
    else:
        raise AssertionError(action)
    return res.status_int != 403


def _site_permits(site, username: str, permission: str) -> bool:
    """Site-level permissions that have no API yet (user management, records, archive search)."""
    user = site["users"][username]
    principals = [Everyone, Authenticated, *user_principals(username, user.roles, user.unit)]
    return bool(ACLHelper().permits(site, principals, permission))


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_permission_matrix(app, testapp, make_item, role):
    from tests.api.conftest import advance

    item_id = make_item(lead_unit="zjj", assist_units={"jtj"})
    advance(app, item_id, ("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head"))
    client = api(testapp, role)
    got = {}
    for action in ACTIONS[:7]:
        got[action] = _attempt(client, action, item_id)
    with open_site(app.registry) as site:
        for action in SITE_ACTIONS:
            got[action] = _site_permits(site, role, action)
        assert site.get_item(item_id).state == "in_progress"
    expected = dict(zip(ACTIONS, MATRIX[role], strict=True))
    assert got == expected, {a: (got[a], expected[a]) for a in ACTIONS if got[a] != expected[a]}


def test_anonymous_callers_get_401_everywhere(testapp, make_item):
    item_id = make_item()
    for url in (f"/api/v1/items/{item_id}", "/api/v1/items", "/api/v1/units", "/api/v1/boards",
                f"/api/v1/items/{item_id}/audit"):
        assert testapp.get(url, status=401).json["error"] == "unauthorized"
    testapp.post_json("/api/v1/boards/zdgz/items", NEW_ITEM, status=(401, 403))
