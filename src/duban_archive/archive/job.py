"""What a render is given and what it may fail with: plain data, no rendering code.

The bottom of the archive's rendering stack: :mod:`.assembly` and
:mod:`.render` both import from here, and this module imports neither, so
the dependencies point one way (``job`` ← ``assembly`` ← ``render``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ASSET_PREFIX = "asset:"


class RenderFailed(Exception):
    """The PDF could not be produced; ``message`` says why in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Embedded:
    """A file embedded byte-identical as a PDF/A-3 associated file."""

    filename: str
    data: bytes
    description: str = ""
    relationship: str = "Source"  # Source | Data | Alternative | Supplement


@dataclass
class RenderJob:
    """One HTML document laid out as one PDF/A: one font subset per face for the whole file.

    Uploaded PDF pages go in through ``pdf_pages``: the HTML holds an empty
    placeholder page for each (an element with that id, on a page of its own),
    so page numbers, ``target-counter()`` references (卷内目录) and the page
    count (归档章) are laid out by WeasyPrint knowing every page; after layout
    the placeholder page is swapped for the uploaded one (:mod:`.assembly`).
    """

    html: str
    title: str
    #: "asset:<name>" -> (bytes, mime type): the only URLs the fetcher serves
    assets: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    stylesheets: list[str] = field(default_factory=list)
    embedded: list[Embedded] = field(default_factory=list)
    #: element id of a placeholder page -> (pdf bytes, page index): swapped in after layout
    pdf_pages: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    variant: str = "pdf/a-3b"
    #: asset URLs of photos to downscale (EXIF orientation applied) before layout
    downscale: set[str] = field(default_factory=set)
    image_max_side: int = 1200
    #: asset URL -> what a person calls it (the uploaded file name), for error messages
    asset_names: dict[str, str] = field(default_factory=dict)


def asset_url(name: str) -> str:
    return ASSET_PREFIX + name
