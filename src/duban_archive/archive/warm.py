"""Imported once by the renderer (render.warm_up) so each forked render starts warm.

Importing WeasyPrint, loading Noto CJK coverage and laying out one tiny
Chinese page once (fontconfig and Pango caches) costs about a second; every
render forked afterwards skips it.  The page is laid out with the renderer's
one FontConfiguration, so the workers inherit Noto Serif and Sans already
loaded into Pango, and the numerals font the assembly draws page numbers
with is made here too.
"""

from __future__ import annotations

try:
    # modules a render imports on first use (the fetcher's responses, image decoders, the assembly):
    # imported here once, not by every forked worker
    import email.contentmanager  # noqa: F401
    import email.headerregistry  # noqa: F401
    import email.policy  # noqa: F401
    import fractions  # noqa: F401
    import mimetypes

    import pikepdf  # noqa: F401
    import weasyprint
    from PIL import Image, ImageOps  # noqa: F401

    from .. import timeutil  # noqa: F401
    from . import assembly, attached_pages  # noqa: F401
    from .fonts import covered
    from .render import font_config, make_fetcher, numerals_pdf

    Image.preinit()  # the JPEG/PNG/GIF decoders (~35 ms)
    mimetypes.init()
    covered()
    weasyprint.HTML(string="<p style=\"font-family:'Noto Serif CJK SC'\">预热 warm</p>"
                    "<h1 style=\"font-family:'Noto Sans CJK SC'\">预热</h1>",
                    url_fetcher=make_fetcher({})).render(font_config=font_config())
    numerals_pdf()
except Exception:  # pragma: no cover - the worker then warms up on its own
    pass
