"""Characters beyond Noto CJK (issue 12): what the input accepts, the dossier draws and files."""

from __future__ import annotations

import io

import pikepdf
import transaction

from duban_archive.archive.checks import scan_document
from duban_archive.archive.dossier import render_dossier
from duban_archive.archive.filing import file_item
from duban_archive.archive.fonts import missing_glyphs, outline_faces
from duban_archive.content_types.site_access import open_site
from duban_archive.validation import text_problem, validate

from .conftest import OFFICER
from .helpers import pdf_text

#: pasted from WeChat, and a rare character in a person's name (CJK Extension B)
WECHAT = {"title": "老旧小区改造👍", "content": "第一批完成✅ ✔️ 群众点赞👍🏻🙏", "contact": "吉𠮷"}


def test_coverage_is_every_installed_outline_font():
    files = {path for path, _ in outline_faces()}
    assert any("NotoSerifCJK" in f for f in files) and any("Symbola" in f for f in files)
    assert missing_glyphs("".join(WECHAT.values())) == []
    assert set(missing_glyphs("好🥰\U00013000")) == {"\U00013000", "🥰"}  # Unicode 11 emoji, hieroglyph
    # the input refuses exactly what the renderer would: the same coverage
    assert text_problem("辛苦🥰") is not None and text_problem(WECHAT["content"], multiline=True) is None


def test_emoji_and_rare_name_characters_the_input_accepts_render_and_file(app, closed_item):
    typedef = app.registry.duban_types["supervision_item"]
    assert validate(typedef.schema("edit", only=set(WECHAT)), WECHAT) == WECHAT  # accepted as typed
    item_id = closed_item(photos=0, signed=0, **WECHAT)
    with open_site(app.registry) as site:
        pdf = render_dossier(site, site.get_item(item_id), app.registry)
    text = pdf_text(pdf)
    assert "老旧小区改造👍" in text and "第一批完成✅" in text and "吉𠮷" in text and "🙏" in text
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        fonts, unembedded, active = scan_document(doc)
        assert fonts and not unembedded and not active
        names = {str(f.BaseFont) for p in doc.pages for f in (p.Resources.get("/Font") or {}).values()}
        assert any("Symbola" in n for n in names), names  # the fallback face, subset and embedded
        assert doc.open_metadata().get("pdfaid:part") == "3"
    with open_site(app.registry) as site:
        rec = file_item(site, site.get_item(item_id), app.registry, retention="Y", actor="records_officer",
                        principals=OFFICER)
        code = rec.archival_code
        transaction.commit()
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert item.archived and item.archival_code == code
