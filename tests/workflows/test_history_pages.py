"""The item history in pages (issue 16): reads like the list it was, appends never rewrite sealed
pages, and items stored with a PersistentList history keep working."""

import transaction
from persistent.list import PersistentList

from duban_archive.content_types.item import History
from duban_archive.content_types.site_access import open_site


def test_history_reads_like_a_list_and_sealed_pages_are_left_alone(app, make_item):
    item_id = make_item(lead_unit="zjj")
    wf = app.registry.duban_workflows["duban"]
    steps = [("approve", "leader", ["role:leader"], {}),
             ("assign", "supervisor", ["role:supervisor"], {"problem_kind": "general"}),
             ("accept", "unit_head", ["unit:zjj", "unit:zjj:unit_head"], {}),
             ("request_closure", "handler", ["unit:zjj", "unit:zjj:handler"], {}),
             ("review", "supervisor", ["role:supervisor"], {})]
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert isinstance(item.history, History)
        for name, actor, principals, data in steps:
            wf.fire(item, name, actor, principals, dict(data), site=site)
            transaction.commit()
        history = item.history
        names = [e["transition"] for e in history]
        assert names[:6] == ["", "approve", "assign", "accept", "request_closure", "review"]
        assert len(history) == len(names) and bool(history)
        assert history[-1]["transition"] == names[-1] and history[1]["to"] == "approved"
        assert [e["transition"] for e in reversed(history)] == names[::-1]
        assert [e["transition"] for e in history[1:3]] == ["approve", "assign"]
        sealed = history.pages[0]
        serial = sealed._p_serial
        history.append({"transition": "note", "comment": "补充"})
        transaction.commit()
        assert sealed._p_serial == serial  # an append does not rewrite a sealed page
        history[1] = {**history[1], "comment": "已更正"}  # evolve steps replace entries
        transaction.commit()
    with open_site(app.registry) as site:
        again = site.get_item(item_id).history
        assert again[1]["comment"] == "已更正" and again[-1]["transition"] == "note"
        assert len(list(again)) == len(again)


def test_an_item_stored_with_a_list_history_keeps_working(app, make_item):
    item_id = make_item()
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        item.history = PersistentList(list(item.history))  # as pickled before issue 16
        transaction.commit()
        app.registry.duban_workflows["duban"].fire(item, "approve", "leader", ["role:leader"], {}, site=site)
        transaction.commit()
        assert [e["transition"] for e in site.get_item(item_id).history] == ["", "approve"]
