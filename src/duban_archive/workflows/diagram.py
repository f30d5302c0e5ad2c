"""Workflow diagrams (graphviz ``dot``), for the CLI and the admin page.

Titles come from our own definition files, but they are still passed as plain
(non-HTML) labels, and dot escapes text in its SVG output; the SVG is cached
per workflow because definitions only change at start-up.
"""

from __future__ import annotations

import re

import graphviz

from .engine import Workflow

_CACHE: dict[tuple[str, int], str] = {}
FONT = "Noto Sans CJK SC"


def to_dot(wf: Workflow) -> graphviz.Digraph:
    g = graphviz.Digraph(name=wf.name, comment=wf.title)
    g.attr(rankdir="LR", fontname=FONT, label=graphviz.nohtml(wf.title), labelloc="t")
    g.attr("node", fontname=FONT, shape="box", style="rounded,filled", fillcolor="#eef4ff")
    g.attr("edge", fontname=FONT, fontsize="10")
    for name, st in wf.states.items():
        attrs = {}
        if name == wf.initial:
            attrs["fillcolor"] = "#d1e7dd"
        if st.final or st.stop_clock:
            attrs.update(shape="box", peripheries="2", fillcolor="#e2e3e5")
        label = st.title if not st.worklist else f"{st.title}\n[{st.worklist}]"
        g.node(name, graphviz.nohtml(label), **attrs)
    for t in wf.transitions.values():
        label = t.title
        if t.roles:
            label += "\n(" + ", ".join(t.roles) + ")"
        style = "dashed" if (t.auto or t.system) else "solid"
        for src in t.sources:
            g.edge(src, t.target, label=graphviz.nohtml(label), style=style)
    return g


def svg(wf: Workflow) -> str:
    """The diagram as an SVG fragment (no XML prolog / doctype) ready to inline."""
    key = (wf.name, id(wf))
    if key not in _CACHE:
        raw = to_dot(wf).pipe(format="svg").decode("utf-8")
        start = raw.find("<svg")
        fragment = raw[start:] if start >= 0 else raw
        _CACHE[key] = re.sub(r"<!--.*?-->", "", fragment, flags=re.S)
    return _CACHE[key]
