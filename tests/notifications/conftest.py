"""Helpers: drive items through their workflow at chosen moments, tick at chosen moments."""

from datetime import datetime

import pytest
import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.security.roles import user_principals
from duban_archive.timeutil import CST, frozen_now


def at(*args) -> datetime:
    return datetime(*args, tzinfo=CST)


def principals(site, username):
    user = site["users"][username]
    return user_principals(user.username, user.roles, user.unit)


@pytest.fixture
def contacts(app):
    """Give the demo users phones and e-mail addresses (the demo has none)."""
    with open_site(app.registry) as site:
        for i, user in enumerate(site["users"].values()):
            user.phone = f"1380000{i:04d}"
            user.email = f"{user.username}@example.gov.cn"
        transaction.commit()


@pytest.fixture
def advance(app):
    def run(item_id, steps, moment, data=None):
        with frozen_now(moment), open_site(app.registry) as site:
            item = site.get_item(item_id)
            wf = app.registry.duban_workflows[item.workflow]
            for name, actor in steps:
                wf.fire(item, name, actor, principals(site, actor), (data or {}).get(name), site=site)
            transaction.commit()
    return run
