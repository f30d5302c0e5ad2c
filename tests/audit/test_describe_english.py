"""Audit sentences: Chinese by default (the API's), English through a translator (issue 15)."""

from __future__ import annotations

from pyramid.i18n import TranslationString

from duban_archive.audit.describe import describe
from duban_archive.i18n import localizer


def english(msgid, mapping):
    text = localizer("en").translate(TranslationString(msgid, domain="duban_archive"))
    return text.format_map(mapping) if mapping else text


ENTRIES = [
    {"action": "upload", "filename": "现场.png", "kind": "photo", "size": 2048},
    {"action": "transition", "title": "退单", "old": "assigned", "new": "declined", "via": "api"},
    {"action": "edit", "field": "deadline", "old": "2026-12-20", "new": "2026-12-31", "reason": "领导同意延期"},
    {"action": "user", "op": "roles", "target": "user:zhang", "old": ["handler"], "new": ["handler", "supervisor"]},
    {"action": "user", "op": "reset_password", "target": "user:zhang"},
]


def test_chinese_sentences_as_before():
    assert [describe(e) for e in ENTRIES] == [
        "「现场.png」（照片，2.0 KB）",
        "退单（assigned → declined）：途径：接口",
        "「deadline」：2026-12-20 → 2026-12-31（理由：领导同意延期）",
        "授权 zhang：承办人 → 承办人、督查室",
        "重置密码 zhang（临时密码，下次登录须修改）",
    ]


def test_english_sentences_keep_what_people_typed():
    assert [describe(e, tr=english) for e in ENTRIES] == [
        "“现场.png” (Photo, 2.0 KB)",
        "Decline (assigned → declined): Via: API",
        "“deadline”: 2026-12-20 → 2026-12-31 (reason: 领导同意延期)",
        f"Roles zhang: {english('承办人', {})} → {english('承办人', {})}, {english('督查室', {})}",
        "Reset password zhang (temporary password, to be changed at next login)",
    ]
