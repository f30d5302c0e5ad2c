"""Imported once by the renderer (render.warm_up) so each forked render starts warm.

Importing WeasyPrint, loading Noto CJK coverage and laying out one tiny
Chinese page once (fontconfig and Pango caches) costs about a second; every
render forked afterwards skips it.
"""

from __future__ import annotations

try:
    import pikepdf  # noqa: F401
    import weasyprint  # noqa: F401
    from PIL import Image  # noqa: F401

    from .fonts import covered

    covered()
    weasyprint.HTML(string="<p style=\"font-family:'Noto Serif CJK SC'\">预热 warm</p>"
                    "<h1 style=\"font-family:'Noto Sans CJK SC'\">预热</h1>").render()
except Exception:  # pragma: no cover - the worker then warms up on its own
    pass
