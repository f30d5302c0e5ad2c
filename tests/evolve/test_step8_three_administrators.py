"""Evolve step 8 ``three_administrators``: a site from before 三员分立 (one ``admin`` role that both
managed accounts and read the audit log) ends with exactly one distinct holder of each of the
three administrator roles, and nobody locked out."""

from __future__ import annotations

from pathlib import Path

import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.evolve import pending
from duban_archive.evolve.steps import three_administrators
from duban_archive.security.roles import ADMIN_ROLES
from duban_archive.testing import api, login


def _as_before_the_split(app, make_item) -> str:
    """The demo site as generation 7 left it: ``admin`` held role ``admin``, no secadmin/secauditor."""
    item_id = make_item(title="老旧小区改造")
    with open_site(app.registry) as site:
        users = site["users"]
        for name in ("secadmin", "secauditor"):
            users.remove(name)
        users["admin"].roles = ("admin",)  # as pickled before: the role no longer exists in code
        users["leader"].roles = ("leader", "admin")
        item = site.get_item(item_id)
        # an ACL pickled before issue 16 (items derive theirs now; step 9 drops the stored copy)
        vars(item)["__acl__"] = tuple((a, p.replace("role:sysadmin", "role:admin"), perms)
                                      for a, p, perms in item.__acl__)
        item._p_changed = True
        site.generation = 7
        transaction.commit()
    return item_id


def _evolve(app):
    with open_site(app.registry) as site:
        assert [name for _, name, _ in pending(site)][0] == "three_administrators"  # the first step due
        message = three_administrators(site, app.registry)
        site.generation = 8
        transaction.commit()  # the passwords file is written after this commit
    return message


def test_step8_splits_admin_and_creates_the_two_missing_administrators(app, testapp, make_item, var_dir):
    item_id = _as_before_the_split(app, make_item)
    session = login(testapp, "admin")  # logged in before the upgrade
    assert session.request.path == "/"

    message = _evolve(app)
    files = list(Path(var_dir).glob("initial-administrators-*.txt"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    assert "2 个原管理员账号改为系统管理员：admin、leader" in message and str(files[0]) in message
    lines = files[0].read_text("utf-8").splitlines()[1:]
    passwords = {line.split("用户名：")[1].split()[0]: line.rsplit("：", 1)[1] for line in lines}
    assert set(passwords) == {"secadmin", "secauditor"}
    assert not any(p in message for p in passwords.values())  # the output names the file only

    with open_site(app.registry) as site:
        users = site["users"]
        assert users["admin"].roles == ("sysadmin",) and users["leader"].roles == ("leader", "sysadmin")
        for role in ("secadmin", "secauditor"):
            holders = [u.username for u in users.values() if role in u.roles]
            assert holders == [role] and users[role].must_change_password
        for user in users.values():
            assert sum(r in ADMIN_ROLES for r in user.roles) <= 1
        assert not any("role:admin" == ace[1] for ace in site.get_item(item_id).__acl__)
        assert all(p not in str(list(site["audit"])) for p in passwords.values())

    # nobody is locked out: the old admin keeps its session and password, and manages accounts
    testapp.get("/@@users", status=200)
    testapp.get("/@@audit-log", status=403)  # but no longer reads the audit log
    testapp.get(f"/boards/zdgz/{item_id}", status=200)
    # the new administrators log in with the one-time password and must change it first
    for name in ("secadmin", "secauditor"):
        client = api(testapp, name, passwords[name])
        assert client.get("/api/v1/users", status=403).json["error"] == "password_change_required"

    with open_site(app.registry) as site:  # again: nothing to do, no new file
        assert "0 个原管理员账号" in three_administrators(site, app.registry)
        transaction.commit()
    assert len(list(Path(var_dir).glob("initial-administrators-*.txt"))) == 1


def test_step8_keeps_existing_holders_and_writes_no_file(app, make_item, var_dir):
    _as_before_the_split(app, make_item)
    with open_site(app.registry) as site:
        site["users"]["auditor"].roles = ("secauditor",)  # a site that had set one up by hand
        transaction.commit()
    message = _evolve(app)
    assert "新建三员账号 secadmin" in message
    with open_site(app.registry) as site:
        assert "secauditor" not in site["users"]
        assert [u.username for u in site["users"].values() if "secauditor" in u.roles] == ["auditor"]
    assert len(list(Path(var_dir).glob("initial-administrators-*.txt"))) == 1


def test_a_new_site_is_born_split(app):
    with open_site(app.registry) as site:
        assert pending(site) == []
        holders = {r: [u.username for u in site["users"].values() if r in u.roles] for r in ADMIN_ROLES}
    assert holders == {"sysadmin": ["admin"], "secadmin": ["secadmin"], "secauditor": ["secauditor"]}
