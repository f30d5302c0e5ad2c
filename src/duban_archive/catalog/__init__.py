"""Catalogs: the ZODB listing index (``listing.py``) and the whoosh full-text catalog.

The listing index changes inside the transaction (it is ZODB); full-text
index actions are queued in the transaction and applied after commit.
"""

from __future__ import annotations


def includeme(config) -> None:
    from ..events import ObjectAdded, ObjectModified, StateChanged
    from .subscribers import listing_on_change

    for event in (ObjectAdded, ObjectModified, StateChanged):
        config.add_subscriber(listing_on_change, event)

    from .fulltext import setup as setup_fulltext  # whoosh full-text catalog (fulltext.py)

    setup_fulltext(config)

    from ..views.panels import add_item_panel

    add_item_panel("index_problem", "全文索引", index_problem_panel, permission="view", order=-20)


def index_problem_panel(request, item) -> str | None:
    """A warning above the item's tabs when the full-text index could not take it (hidden otherwise)."""
    from html import escape

    from ..timeutil import display
    from ..views.layout import translate

    problem = getattr(item, "index_problem", None)
    if not problem:
        return None
    note = translate(request, "此事项暂时无法被全文检索到，请按提示修改相关内容后保存，系统会自动重新索引。")
    at = problem.get("at")
    when = f' <span class="text-muted small">（{escape(display(at))}）</span>' if at else ""
    return ('<div class="alert alert-warning mb-0 index-problem" role="alert" id="index-problem">'
            f'<div>{escape(str(problem.get("message", "")))}{when}</div>'
            f'<div class="small">{escape(note)}</div></div>')
