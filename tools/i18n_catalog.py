"""The English catalog of the ``duban_archive`` domain (msgids are Chinese).

    python tools/i18n_catalog.py extract   # add new msgids to en .po (keeps translations)
    python tools/i18n_catalog.py compile   # .po -> .mo (shipped inside the package)
    python tools/i18n_catalog.py check     # exit 1 if a msgid has no English yet

msgids come from ``t('...')`` in the UI templates, ``translate(request, "...")``
and ``add_nav``/``add_item_panel`` titles in Python, the ``title=``/``description=``/
``button=`` of the colander forms and the ``"page_title"`` of the views (``views.forms.make_form``
and the layout translate them), plus the titles in the definition files (types, boards,
workflow states, transitions and deadlines, roles, audit actions, deadline lights), plus the words
domain code writes for people to read (:func:`domain_msgids`: the audit sentences of
``audit/describe.py``, the 四性检测 report's sections, results and sentences of ``archive/check_texts.py``),
which the views translate with the request's localizer.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "duban_archive"
PO = PKG / "locale" / "en" / "LC_MESSAGES" / "duban_archive.po"
MO = PO.with_suffix(".mo")

PATTERNS = [
    re.compile(r"""\bt\(\s*'([^'\\]+)'"""),
    re.compile(r"""\bt\(\s*"([^"\\]+)\""""),
    re.compile(r"""\btranslate\(\s*request\s*,\s*"([^"\\]+)\""""),
    re.compile(r"""\b(?:add_nav|add_item_panel)\(\s*"[^"]*"\s*,\s*"([^"\\]+)\""""),
    re.compile(r"""\badd_nav\(\s*"([^"\\]+)\""""),
]
#: in views/*.py only: form titles, descriptions and buttons, page titles
VIEW_PATTERNS = [
    re.compile(r"""\b(?:title|description|button)="([^"\\{}]+)\""""),
    re.compile(r"""["']page_title["']\s*:\s*"([^"\\{}]+)\""""),
]
#: domain modules whose colander schemas the HTML forms show (their titles are read like the views')
SCHEMA_MODULES = ("security/accounts.py", "security/passwords.py")
#: templates outside views/ rendered with a ``t`` of the request's language (domain panels)
DOMAIN_TEMPLATES = ("archive/templates/checks_panel.pt",)
CJK = re.compile(r"[\u4e00-\u9fff]")
#: msgids the views pass through variables (button titles, flash messages, error pages)
EXTRA = {"保存", "提交", "已保存修改", "内容没有变化", "已提交反馈", "已保存批示", "领导批示", "请求已失效",
         "无权访问", "页面不存在", "文件过大", "用户名或密码错误",
         "事项已归档，内容不可更改；著录信息更正请走更正流程", "未能完成操作", "未能启动督办：{message}",
         "请填写${title}", "请选择${title}",
         # views/disposal.py: why a 销毁 step is not possible (passed to _refused_page)
         "该档案已有待审批的销毁申请，请等待档案鉴定审批人审批", "该档案没有待审批的销毁申请",
         "不能审批自己提出的销毁申请：销毁须由申请人以外的审批人批准",
         # punctuation-only templates (no Han to find them by): a label and its value in the reader's language
         "{label}：", "{label}：{value}"}


def source_msgids() -> set[str]:
    found: set[str] = set()
    files = list((PKG / "views").glob("*.py")) + list((PKG / "views" / "templates").glob("*.pt"))
    files += [PKG / name for name in SCHEMA_MODULES] + [PKG / name for name in DOMAIN_TEMPLATES]
    for path in files:
        text = path.read_text(encoding="utf-8")
        patterns = PATTERNS + (VIEW_PATTERNS if path.suffix == ".py" else [])  # schema modules: py too
        for pattern in patterns:
            found.update(m for m in pattern.findall(text) if CJK.search(m))
    return found | EXTRA


def domain_msgids() -> set[str]:
    """What domain code writes for people to read, as msgids: audit sentences, 四性检测 words."""
    sys.path.insert(0, str(ROOT / "src"))
    from duban_archive.archive import check_texts, checks
    from duban_archive.archive.capture import STATUSES
    from duban_archive.audit import describe

    found = (set(describe.SENTENCES) | check_texts.SENTENCES.msgids | check_texts.VERSION_REASONS.msgids
             | describe.SYSTEM_COMMENTS.msgids | {label for label, _colour in STATUSES.values()})
    for table in (describe.LABELS, describe.USER_OPS, describe.USER_OP_NOTES, describe.ACCOUNT_FIELDS,
                  describe.VIA, describe.SCOPES, checks.SECTIONS):
        found.update(table.values())
    found.update(checks.STATUS.values())
    found.update((checks.PASSED, checks.FAILED, checks.INCOMPLETE))
    return {m for m in found if m}


def definition_msgids() -> set[str]:
    sys.path.insert(0, str(ROOT / "src"))
    from duban_archive.archive.rules import RETENTIONS
    from duban_archive.audit.log import ACTIONS
    from duban_archive.content_types.attachment import KINDS
    from duban_archive.content_types.board import load_board_defs
    from duban_archive.content_types.registry import TypeRegistry
    from duban_archive.security.roles import ROLES
    from duban_archive.security.units import UNIT_KINDS
    from duban_archive.views.listing import SORTS
    from duban_archive.views.search import FACET_TITLES, RETENTION_TITLES, SORT_TITLES
    from duban_archive.workflows.deadlines import LIGHT_TITLES
    from duban_archive.workflows.engine import WorkflowRegistry
    from duban_archive.workflows.schema import ATTACHMENT_KINDS
    from duban_archive.workflows.worklist import BUCKETS

    found = (set(ACTIONS.values()) | set(KINDS.values()) | set(ROLES.values()) | set(SORTS.values())
             | set(LIGHT_TITLES.values()) | set(BUCKETS.values()) | set(ATTACHMENT_KINDS.values())
             | set(UNIT_KINDS.values()) | set(RETENTIONS.values()) | set(SORT_TITLES.values())
             | set(FACET_TITLES.values()) | set(RETENTION_TITLES.values()))
    found |= {b.title for b in load_board_defs()}
    from duban_archive.content_types.registry import OTHER_FIELDSET

    found.add(OTHER_FIELDSET)
    for typedef in TypeRegistry().load():
        found.update(fs.title for fs in typedef.fieldsets)  # the legends of the forms and the item page's groups
        for f in typedef.fields:
            found.add(f.title)
            if getattr(f, "description", None):
                found.add(f.description)
            found.update(c.title for c in f.choices)
    for wf in WorkflowRegistry().load():
        found.add(wf.title)
        found.update(s.title for s in wf.states.values())
        found.update(t.title for t in wf.transitions.values())
        for holder in [wf, *wf.states.values(), *wf.transitions.values()]:
            found.update(d.title for d in getattr(holder, "deadlines", None) or ())
        for tr in wf.transitions.values():
            for f in getattr(tr, "fields", None) or ():
                found.add(f.title)
                if getattr(f, "description", None):
                    found.add(f.description)
                found.update(c.title for c in getattr(f, "choices", None) or ())
    # 办结's 办理评价 field is added to the close transitions by scoring (shown in the timeline)
    from duban_archive.scoring.grading import load_grading

    found.add("办理评价")
    found.update(f"{g['value']} {g['title']}" for g in load_grading()["grades"])
    return {m for m in found if m}


def load() -> Catalog:
    if PO.exists():
        with PO.open("rb") as f:
            return read_po(f, locale="en", domain="duban_archive")
    return Catalog(locale="en", domain="duban_archive", project="duban_archive")


def save_po(catalog: Catalog) -> None:
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as f:
        write_po(f, catalog, width=120, sort_output=True, omit_header=False)


def extract() -> int:
    catalog = load()
    added = 0
    for msgid in sorted(source_msgids() | definition_msgids() | domain_msgids()):
        if msgid not in catalog:
            catalog.add(msgid, "")
            added += 1
    save_po(catalog)
    print(f"{PO.relative_to(ROOT)}: {added} new msgids, {len(catalog)} in all")
    return 0


def compile_mo() -> int:
    catalog = load()
    with MO.open("wb") as f:
        write_mo(f, catalog)
    print(f"{MO.relative_to(ROOT)}: {len(catalog)} messages")
    return 0


def check() -> int:
    catalog = load()
    missing = sorted(m for m in source_msgids() | definition_msgids() | domain_msgids()
                     if m not in catalog or not catalog[m].string)
    for m in missing:
        print("untranslated:", m)
    return 1 if missing else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "compile"
    sys.exit({"extract": extract, "compile": compile_mo, "check": check}[command]())
