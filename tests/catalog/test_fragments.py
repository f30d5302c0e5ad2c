"""Quoted fragments: text pasted from an item finds it, whatever the word boundaries.

Real whoosh index, real ZODB: items are created through the app, indexed after commit,
and searched as users with and without view permission.
"""

from __future__ import annotations

import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duban_archive.catalog.analysis import chars
from duban_archive.catalog.fulltext import get_catalog
from duban_archive.content_types.site_access import open_site

SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor"]
CONTENT = ("根据市委督查室按照国办、省政府督查工作要求，责任单位针对所承办事项逐项制定整改方案；"
           "对照“13710”工作制度，3日内反馈办理进展（含附件*2份）。联系人：张三 a:b (备注)~完。")
FEEDBACK = "已完成老旧小区雨污分流改造第一阶段，下步将推进燃气管道更新。"


def unit_user(unit: str) -> list[str]:
    return ["system.Everyone", "system.Authenticated", f"user:handler-{unit}", "role:handler",
            f"unit:{unit}", f"unit:{unit}:handler"]


def found(app, q, principals=SUPERVISOR, **kw):
    return {h.id for h in get_catalog(app.registry).search(principals, q, **kw).hits}


def assign(app, item_id):
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        wf.fire(item, "approve", "leader", ["role:leader"])
        wf.fire(item, "assign", "supervisor", ["role:supervisor"])
        transaction.commit()


def add_feedback(app, item_id, text):
    from duban_archive.content_types.actions import add_feedback as add

    with open_site(app.registry) as site:
        add(site, site.get_item(item_id), {"done": text, "progress": "按计划推进", "next_steps": "继续"},
            "handler", app.registry)
        transaction.commit()


def test_fragments_cut_inside_words_find_the_item(app, make_item):
    a = make_item(title="关于督查工作的通知", content=CONTENT)
    other = make_item(title="另一事项", content="督查室按照要求开展工作。承办单位反馈。")
    for q in ("「查室按照国办、省」", '"查室按照国办、省"', '"任单位针对所承办"', '"室按照国办"',
              '"13710”工作制"', '"日内反馈办理进"'):
        q = q.replace("「", '"').replace("」", '"')
        assert found(app, q) == {a}, q
    # a phrase that both contain, cut inside words
    assert found(app, '"查室按照"') == {a, other}
    # whitespace in the pasted text or in the item does not matter
    assert found(app, '"查室按照 国办、\n省"') == {a}


def test_one_character_and_syntax_characters_inside_quotes_are_literal(app, make_item):
    a = make_item(title="通知", content=CONTENT)
    b = make_item(title="其他事项", content="普通的内容，没有特殊字符")
    assert found(app, '"*"') == {a}
    assert found(app, '"a:b"') == {a}
    assert found(app, '"("') == {a}
    assert found(app, '"~"') == {a}
    assert found(app, '"*2份"') == {a}
    assert found(app, '"殊"') == {b}  # one character, inside a word
    assert found(app, '"完"') == {a}  # the last character of the text
    assert found(app, '"容"') == {b}
    assert found(app, '"（"') == {a}  # full-width equals half-width (NFKC)


def test_a_query_beginning_with_a_star_is_literal_text_not_a_crash(app, make_item):
    a = make_item(title="燃气管道更新", content="推进城市燃气管道更新改造。", lead_unit="zjj", assist_units=set())
    b = make_item(title="森林防火", content="开展森林防火检查。", lead_unit="jtj", assist_units=set())
    assign(app, a)
    assert found(app, "*燃气") == {a}
    assert found(app, "* 燃气") == {a}
    assert found(app, "*燃气 *更新*") == {a}
    assert found(app, '"管道"') == {a}  # jieba cuts 燃气管|道: the word 管道 is not there, the text is
    assert found(app, "燃气 -") == {a}
    assert found(app, '"*燃气"') == set()  # literally "*燃气": the text has no star
    assert found(app, "*") == found(app, "**") == {a, b}  # stars only: everything …
    assert found(app, "*", unit_user("zjj")) == {a}  # … the caller may view


def test_feedback_and_title_text_are_found_by_fragments(app, make_item):
    a = make_item(title="推进老旧小区改造工作", content="详见附件。")
    add_feedback(app, a, FEEDBACK)
    assert found(app, '"雨污分流改造第一阶"') == {a}
    assert found(app, '"区改造工"') == {a}
    assert found(app, 'title:"区改造工"') == {a}
    assert found(app, 'title:"雨污分流"') == set()


def test_fragment_results_respect_view_permission_and_facets(app, make_item):
    zjj = make_item(title="住建局事项", content=CONTENT, lead_unit="zjj", assist_units=set())
    jtj = make_item(title="交通局事项", content=CONTENT, lead_unit="jtj", assist_units=set())
    assign(app, zjj)
    assign(app, jtj)
    cat = get_catalog(app.registry)
    res = cat.search(unit_user("zjj"), '"任单位针对所承办"')
    assert [h.id for h in res.hits] == [zjj] and res.total == 1
    assert res.facets["unit"] == [("zjj", 1)]
    assert "<mark>任单位针对所承办</mark>" in res.hits[0].snippet
    assert cat.search(unit_user("nobody"), '"任单位针对所承办"').total == 0
    assert cat.search(unit_user("nobody"), '"任单位针对所承办"').facets["unit"] == []
    assert found(app, '"任单位针对所承办"') == {zjj, jtj}


def test_slop_phrases_keep_word_order_and_distance(app, make_item):
    a = make_item(title="老旧小区楼道改造", content="无")  # 老旧小区 楼道 改造: 改造 2 words after 老旧
    b = make_item(title="改造老旧小区", content="无")  # wrong order
    c = make_item(title="老旧管网明年一并研究后再行改造", content="无")  # too far
    assert found(app, '"老旧 改造"~3') == {a}
    assert found(app, '"老旧 改造"~2') == {a}
    assert found(app, '"老旧 楼道"~2') == {a}
    assert found(app, '"楼道 老旧"~5') == set()
    assert found(app, '"老旧 改造"~20') == {a, c}
    assert b not in found(app, '"老旧 改造"~20')


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_substring_of_an_items_text_finds_it(app, make_item, data):
    # created once per test function (the fixture is function-scoped; hypothesis reuses it)
    if not hasattr(app, "_fragment_items"):
        other = make_item(title="无关事项", content="这是另一条完全不同的督办内容。")
        item = make_item(title="关于推进老旧小区改造的督办事项", content=CONTENT)
        add_feedback(app, item, FEEDBACK)
        app._fragment_items = (item, other)
    item, _other = app._fragment_items
    text = data.draw(st.sampled_from(["关于推进老旧小区改造的督办事项", CONTENT, FEEDBACK]))
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, min(len(text), start + 30)))
    fragment = text[start:end]
    if '"' in fragment or not chars(fragment):
        return
    assert item in found(app, f'"{fragment}"'), fragment


def test_an_index_of_the_previous_format_is_rebuilt_and_searches_say_so_meanwhile(app, make_item):
    """An upgraded site: CURRENT names a generation of an older schema version."""
    import os

    import pytest

    from duban_archive.catalog.engine import IndexUnavailable
    from duban_archive.catalog.queue import queue_item

    a = make_item(title="防汛物资储备", content=CONTENT)
    cat = get_catalog(app.registry)
    store = cat.store
    old = store.root / store.current_name().replace(f"-v{store.current_name().rsplit('-v', 1)[1]}", "-v3")
    os.rename(store.root / store.current_name(), old)
    (store.root / "CURRENT").write_text(old.name)
    with pytest.raises(IndexUnavailable):
        cat.search(SUPERVISOR, '"查室按照"')
    with open_site(app.registry) as site:  # any change: the indexer's next cycle rebuilds first
        queue_item(site, a)
        transaction.commit()
    assert found(app, '"查室按照"') == {a}
    assert store.up_to_date_schema()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(alphabet=list('"*~:()[]{}^-+ \n\t“”「」、，。?!ANDORNOT') + list("老旧小区改造督查ab12"),
                 max_size=24))
def test_any_query_string_is_answered_or_refused_never_a_crash(app, make_item, q):
    from duban_archive.catalog.engine import QueryError

    if not hasattr(app, "_any_query_item"):
        app._any_query_item = make_item(title="老旧小区改造督查", content=CONTENT)
    try:
        res = get_catalog(app.registry).search(SUPERVISOR, q)
    except QueryError:
        return
    assert res.total == len(res.hits) <= 1
