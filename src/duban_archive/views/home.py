"""首页: 我的待办 (the worklist) and 本单位事项 (items of my unit)."""

from __future__ import annotations

from pyramid.view import view_config

from ..audit.reads import log_read
from ..content_types.site import Site
from .display import fmt_date, state_title, unit_title
from .layout import ordered_boards, principals, translate
from .listing import query


@view_config(context=Site, renderer="templates/home.pt", permission="view")
def home(context, request):
    who = principals(request)
    ident = request.identity
    worklist_total, worklist = query(context, who, worklist="*", sort="modified", reverse=True,
                                     limit=20)
    unit_total, unit_items = (0, [])
    if ident is not None and ident.unit:
        unit_total, unit_items = query(context, who, unit=ident.unit, sort="modified",
                                       reverse=True, limit=20)
    log_read(request, [*worklist, *unit_items], via="home")
    return {
        "page_title": translate(request, "首页"),
        "worklist": worklist, "worklist_total": worklist_total,
        "unit_items": unit_items, "unit_total": unit_total,
        "my_unit": unit_title(context, ident.unit) if ident and ident.unit else "",
        "boards": ordered_boards(request, context),
        "can_add": request.has_permission("add_item", context),
        "state_title": lambda item: state_title(request, item),
        "unit_title": lambda uid: unit_title(context, uid),
        "fmt_date": fmt_date,
    }
