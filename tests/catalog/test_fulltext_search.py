"""Full-text search on a real index: Chinese phrases, numbers, syntax, permissions, facets."""

from datetime import date

import pytest
import transaction

from duban_archive.catalog.analysis import normalize, words
from duban_archive.catalog.fulltext import get_catalog
from duban_archive.content_types.site_access import open_site

SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor"]


def unit_user(unit: str, role: str = "handler") -> list[str]:
    return ["system.Everyone", "system.Authenticated", f"user:{role}-{unit}", f"role:{role}",
            f"unit:{unit}", f"unit:{unit}:{role}"]


def found(app, q, principals=SUPERVISOR, **kw):
    res = get_catalog(app.registry).search(principals, q, **kw)
    return {h.id for h in res.hits}


def assign(app, item_id):
    """审签 + 交办: the units get to view the item."""
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        wf.fire(item, "approve", "leader", ["role:leader"])
        wf.fire(item, "assign", "supervisor", ["role:supervisor"])
        transaction.commit()


def test_positions_are_word_positions_and_punctuation_is_dropped():
    toks = list(words(normalize("晋市政办〔２０２０〕５１号"), search=False))
    assert [(p, w) for p, w, _, _ in toks] == [
        (0, "晋"), (1, "市政"), (2, "办"), (3, "2020"), (4, "51"), (5, "号")]
    # search mode adds sub-words at their word's position, never a new position
    sub = list(words("国务院办公厅", search=True))
    assert {p for p, *_ in sub} == {0} and "国务院" in {w for _, w, *_ in sub}
    # a date or range written with hyphens counts as its numbers, as a query does
    assert [(p, w) for p, w, _, _ in words("2017-09-20召开，3-5日")] == [
        (0, "2017"), (1, "09"), (2, "20"), (3, "召开"), (4, "3"), (5, "5"), (6, "日")]
    # numbers and Latin words are not cut into sub-words
    assert [w for _, w, _, _ in words("13710 ZDGZ", search=True)] == ["13710", "zdgz"]


def test_phrase_and_document_number_queries(app, make_item):
    a = make_item(title="关于推进老旧小区改造的督办事项", content="依据晋市政办〔2020〕51号文件，完成老旧小区改造。")
    b = make_item(title="落实13710工作制度", content="改造小区的老旧管网，推进雨污分流。")
    assert found(app, '"老旧小区改造"') == {a}
    # the same words, not as a phrase: both items
    assert found(app, "老旧 小区 改造") == {a, b}
    assert found(app, "13710") == {b}
    assert found(app, "晋市政办〔2020〕51号") == {a}
    assert found(app, '"晋市政办〔2020〕51号"') == {a}
    # full-width input equals half-width
    assert found(app, "１３７１０") == {b}
    assert found(app, "51号") == {a}
    assert found(app, a.upper()) == {a}  # the item number


def test_boolean_field_and_date_range_syntax(app, make_item):
    a = make_item(title="农村公路建设", content="修建农村公路 20 公里", registered_on=date(2025, 3, 1))
    b = make_item(title="城市道路改造", content="改造城市道路", registered_on=date(2026, 5, 1))
    c = make_item(title="农村饮水安全", content="解决农村饮水问题", registered_on=date(2026, 6, 1))
    assert found(app, "农村 AND 公路") == {a}
    assert found(app, "公路 OR 道路") == {a, b}
    assert found(app, "农村 NOT 公路") == {c}
    assert found(app, "title:道路") == {b}
    assert found(app, "标题:饮水") == {c}
    assert found(app, "registered_on:[20260101 to 20261231]") == {b, c}
    assert found(app, "农村 year:2025") == {a}


def test_results_only_what_the_caller_may_view_across_two_units(app, make_item):
    zjj = make_item(title="住建局的保障性住房项目", lead_unit="zjj", assist_units=set())
    jtj = make_item(title="交通局的保障性住房配套道路", lead_unit="jtj", assist_units=set())
    assign(app, zjj)
    assign(app, jtj)
    assert found(app, "保障性住房", unit_user("zjj")) == {zjj}
    assert found(app, "保障性住房", unit_user("jtj")) == {jtj}
    assert found(app, "保障性住房", SUPERVISOR) == {zjj, jtj}
    res = get_catalog(app.registry).search(unit_user("zjj"), "保障性住房")
    assert res.total == 1 and res.facets["unit"] == [("zjj", 1)]
    # a user of neither unit sees nothing, not even a count
    assert get_catalog(app.registry).search(unit_user("nobody"), "保障性住房").total == 0


def test_facets_count_board_state_unit_year(app, make_item):
    make_item("zdgz", title="重点工作一：河道治理", lead_unit="zjj", assist_units={"jtj"},
              registered_on=date(2025, 2, 1))
    make_item("zdgz", title="重点工作二：河道清淤", lead_unit="jtj", assist_units=set())
    make_item("rcgl", title="日常管理：河道巡查", lead_unit="zjj", assist_units=set())
    res = get_catalog(app.registry).search(SUPERVISOR, "河道")
    assert res.total == 3
    assert dict(res.facets["board"]) == {"zdgz": 2, "rcgl": 1}
    assert dict(res.facets["unit"]) == {"zjj": 2, "jtj": 2}
    assert dict(res.facets["year"]) == {2025: 1, 2026: 2}
    assert dict(res.facets["state"]) == {"registered": 3}
    narrowed = get_catalog(app.registry).search(SUPERVISOR, "河道", board="zdgz", unit="jtj")
    assert narrowed.total == 2


def test_snippets_are_sentences_with_marked_words(app, make_item):
    make_item(title="环境整治", content="第一句没有关键词。第二句提到垃圾分类工作！第三句也没有？")
    res = get_catalog(app.registry).search(SUPERVISOR, "垃圾分类")
    snippet = res.hits[0].snippet
    assert "<mark>垃圾分类</mark>" in snippet
    assert "第一句" not in snippet and "第三句" not in snippet
    assert snippet.startswith("第二句") and snippet.endswith("！")


def test_sort_by_date_and_paging(app, make_item):
    ids = [make_item(title=f"森林防火第{i}项", registered_on=date(2026, 1, i + 1)) for i in range(5)]
    cat = get_catalog(app.registry)
    newest = cat.search(SUPERVISOR, "森林防火", sort="registered_on", per_page=2)
    assert newest.total == 5 and newest.pages == 3
    assert [h.id for h in newest.hits] == [ids[4], ids[3]]
    last = cat.search(SUPERVISOR, "森林防火", sort="registered_on", per_page=2, page=3)
    assert [h.id for h in last.hits] == [ids[0]]


def test_overdue_is_computed_at_query_time(app, make_item):
    from datetime import datetime

    from duban_archive.catalog.queue import queue_item
    from duban_archive.timeutil import CST, frozen_now

    late = make_item(title="逾期测试：渣土车整治")
    on_time = make_item(title="按期测试：渣土车整治")
    with open_site(app.registry) as site:
        site.get_item(late).next_due = datetime(2026, 3, 1, 17, 30, tzinfo=CST)
        site.get_item(on_time).next_due = datetime(2026, 9, 1, 17, 30, tzinfo=CST)
        queue_item(site, late)
        queue_item(site, on_time)
        transaction.commit()
    cat = get_catalog(app.registry)
    with frozen_now(datetime(2026, 6, 1, tzinfo=CST)):
        assert {h.id for h in cat.search(SUPERVISOR, "渣土车", overdue=True).hits} == {late}
        assert {h.id for h in cat.search(SUPERVISOR, "渣土车", overdue=False).hits} == {on_time}
    with frozen_now(datetime(2026, 10, 1, tzinfo=CST)):  # later, without any reindexing
        assert {h.id for h in cat.search(SUPERVISOR, "渣土车", overdue=True).hits} == {late, on_time}


def test_a_slop_phrase_filters_permissions_and_counts_facets(app, make_item):
    """``"老旧 改造"~3``: the words in order, at most 3 words apart (evaluated like every query)."""
    near = make_item(title="老旧小区的楼道改造", lead_unit="zjj", assist_units=set())
    far = make_item(title="老旧管网", content="明年再议改造的事", lead_unit="jtj", assist_units=set())
    assign(app, near)
    assign(app, far)
    cat = get_catalog(app.registry)
    res = cat.search(unit_user("zjj"), '"老旧 改造"~3')
    assert [h.id for h in res.hits] == [near] and res.total == 1
    assert res.facets["unit"] == [("zjj", 1)] and "<mark>" in res.hits[0].snippet
    assert found(app, '"老旧 改造"~3', unit_user("jtj")) == set()
    assert found(app, '"老旧 改造"~3') == {near}


def test_a_query_the_evaluator_does_not_know_is_a_query_error_not_a_crash(app, make_item):
    from duban_archive.catalog import matching
    from duban_archive.catalog.search import QueryError

    make_item(title="森林防火检查")
    searcher = get_catalog(app.registry).engine.searcher()
    from whoosh import query as Q

    with pytest.raises(matching.Unsupported):
        matching.search(searcher, Q.SpanFirst(Q.Term("title", "森林")))
    assert issubclass(QueryError, ValueError)
