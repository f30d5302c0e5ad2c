"""``/worklist`` — 我的待办 page: every bucket of the caller's to-do items, with lights."""

from __future__ import annotations

from pyramid.view import view_config

from ..audit.reads import log_read
from ..workflows.deadlines import next_deadline
from ..workflows.worklist import worklist
from .workflow import LIGHT_CSS, _principals


@view_config(route_name="workflow.worklist", renderer="templates/worklist.pt", permission="view")
def worklist_page(context, request):
    buckets = worklist(context, _principals(request), limit=50, empty=True)
    wfs = request.registry.duban_workflows
    log_read(request, [i for b in buckets for i in b["items"]], via="worklist")

    def row(item):
        wf = wfs.get(item.workflow)
        st = wf.states.get(item.state) if wf else None
        nxt = next_deadline(item)
        return {"url": request.resource_url(item), "number": item.number, "title": getattr(item, "title", ""),
                "state": st.title if st else item.state, "next": nxt,
                "due_text": nxt["due_text"] if nxt else ""}

    return {"page_title": "我的待办", "light_css": LIGHT_CSS,
            "buckets": [dict(b, rows=[row(i) for i in b["items"]]) for b in buckets]}
