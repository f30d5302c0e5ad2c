"""Reading PDFs and packages the way a records officer's tools would."""

from __future__ import annotations

import subprocess
import tempfile


def pdf_text(pdf: bytes, first: int | None = None, last: int | None = None) -> str:
    """Text as poppler's pdftotext extracts it (what search and readers see)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        args = ["pdftotext", "-layout"]
        if first:
            args += ["-f", str(first)]
        if last:
            args += ["-l", str(last)]
        return subprocess.run(args + [f.name, "-"], capture_output=True, check=True, text=True).stdout


def page_texts(pdf: bytes) -> list[str]:
    """One string per page (pdftotext separates pages with form feeds)."""
    return pdf_text(pdf).split("\f")[:-1]
