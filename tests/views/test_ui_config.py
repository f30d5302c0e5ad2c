"""UI registration is configuration: ``config.add_nav`` / ``config.add_item_panel`` store into the
registry with Pyramid's conflict detection, and a views module's ``includeme`` is where they are called."""

from __future__ import annotations

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError

from duban_archive.testing import login
from duban_archive.views.layout import nav_registry
from duban_archive.views.panels import panel_registry

from .conftest import item_url


def _nav_titles(page) -> list[str]:
    nav = page.html.select_one("#main-nav ul.navbar-nav")
    return [a.get_text(strip=True) for a in nav.select("a")] if nav is not None else []


def test_a_nav_entry_added_by_the_directive_shows_only_with_its_permission(testapp, configure):
    def includeme(config):
        config.add_nav("测试导航", "/test-nav", permission="manage", order=1)

    configure(includeme)
    assert "测试导航" in _nav_titles(login(testapp, "admin"))  # admin holds manage on the site
    testapp.reset()
    page = login(testapp, "handler")
    assert "测试导航" not in _nav_titles(page) and "检索" in _nav_titles(page)


def test_an_item_panel_added_by_the_directive_shows_only_with_its_permission(testapp, make_item, configure):
    def includeme(config):
        config.add_item_panel("test-edit", "测试编辑栏目",
                              lambda request, item: '<p id="test-edit-panel">可以编辑</p>', permission="edit")
        config.add_item_panel("test-hidden", "从不显示", lambda request, item: None, permission=None)

    configure(includeme)
    item_id = make_item(title="带测试栏目的事项")
    login(testapp, "supervisor")  # registered it: may edit
    page = testapp.get(item_url(item_id))
    assert "测试编辑栏目" in page.text and '<p id="test-edit-panel">可以编辑</p>' in page.text
    assert "从不显示" not in page.text  # a renderer answering None hides its tab
    testapp.reset()
    login(testapp, "leader")  # may view, may not edit
    page = testapp.get(item_url(item_id))
    assert "带测试栏目的事项" in page.text and "测试编辑栏目" not in page.text and "test-edit-panel" not in page.text


def test_the_app_registers_its_ui_through_the_views_includes(app):
    panels = panel_registry(app.registry)
    assert {"workflow", "reminders", "archive", "index_problem", "not_ocred"} <= set(panels)
    assert panels["workflow"].order < 0 and panels["index_problem"].order < 0  # above the tabs
    paths = set(nav_registry(app.registry))
    assert {"/worklist", "/search", "/scores", "/dashboard", "/reports", "/archive", "/@@users",
            "/@@password", "/admin/workflows", "/admin/calendar"} <= paths
    intr = app.registry.introspector.get("duban item panels", "archive")
    assert intr is not None and intr["permission"] == "view"


def _panel(name):
    def includeme(config):
        config.add_item_panel(name, "栏目", lambda request, item: "")
    return includeme


def test_two_panels_of_one_name_conflict_at_commit():
    def deadlines(config):
        config.add_item_panel("dup", "时限", lambda request, item: "")

    def reminders(config):
        config.add_item_panel("dup", "催办", lambda request, item: "")

    config = Configurator()
    config.include("duban_archive.views.panels")
    config.include(deadlines)
    config.include(reminders)
    with pytest.raises(ConfigurationConflictError) as err:
        config.commit()
    assert "duban:item_panel" in str(err.value) and "dup" in str(err.value)


def test_two_nav_entries_for_one_path_conflict_at_commit():
    def twice(config):  # within one includeme too
        config.add_nav("导航一", "/dup")
        config.add_nav("导航二", "/dup")

    config = Configurator()
    config.include("duban_archive.views.layout")
    config.include(twice)
    with pytest.raises(ConfigurationConflictError):
        config.commit()


def test_a_panel_of_the_app_conflicts_with_a_plugin_of_the_same_name():
    """An add-on reusing ``archive`` (views/archive.py's 归档 tab) fails at start, not at random."""
    config = Configurator(settings={})
    config.include("duban_archive.views")
    config.include(_panel("archive"))
    with pytest.raises(ConfigurationConflictError):
        config.commit()


def test_an_includer_overrides_what_it_includes_and_registries_are_separate():
    def site_customisation(config):  # includes the app's UI, then replaces one of its tabs
        config.include("duban_archive.views.panels")
        config.include(_panel("reminders"))
        config.add_item_panel("reminders", "本地催办栏目", lambda request, item: "local")

    config = Configurator()
    config.include(site_customisation)
    config.commit()
    assert panel_registry(config.registry)["reminders"].title == "本地催办栏目"
    other = Configurator()
    other.include("duban_archive.views.panels")
    other.commit()
    assert panel_registry(other.registry) == {}  # no module-global state
