"""Importing an Excel 台账: read the sheet, map its columns, check every row, then create all or nothing.

Three steps, so a clerk sees what will happen before anything is written:

1. :func:`read_sheet` reads the uploaded workbook (type sniffed from the
   bytes, zip directory screened like any upload) into a :class:`Sheet` of
   plain JSON values — the web pages carry it from step to step, nothing is
   stored meanwhile;
2. :func:`guess_mapping` proposes a field for each column (the type's field
   titles and the usual Chinese headings, ``ledger_cells``); the clerk may
   change any of them;
3. :func:`check_rows` reads every row through the type's colander schema and
   the board's ``before_create`` rule and lists each problem (Excel row
   number, column, field, Chinese message) — writing nothing;
   :func:`import_rows` runs the same check and creates every item in the
   caller's transaction only when there is no problem at all
   (:class:`LedgerImportError` otherwise, before the first 事项编号 is drawn).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import import_module
from typing import IO, Any

import colander
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ..content_types.attachment import ContainerLimits, ContainerRefused, open_container, sniff
from ..errors import Refusal
from ..i18n import invalid_as_dict, required_messages
from ..validation import visible_text
from .ledger_cells import (
    IGNORED,
    SPLIT,
    SYNONYMS,
    CellError,
    guess_field,
    match_unit,
    normalise_heading,
    parse_date,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: rows and columns one import may hold (a county's yearly ledger is a few hundred rows)
MAX_ROWS = 2000
MAX_COLUMNS = 100
#: the header is looked for in the first rows (a ledger often starts with a title row)
HEADER_SEARCH = 10
#: a row whose 序号 cell says this is the template's example and is skipped
EXAMPLE_MARK = "示例"
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
#: a cell as the pages carry it between steps
Cell = str | int | float | bool | None


class LedgerImportError(Refusal):
    """Rows (or headings) failed the check: nothing was imported.

    ``problems`` are :class:`Problem` objects; ``errors`` the same as lines
    ``第 N 行「列名」：原因`` (the CLI prints them).
    """

    def __init__(self, problems: list[Problem] | list[str], message: str | None = None) -> None:
        self.problems = [p if isinstance(p, Problem) else Problem(0, "", "", "", p) for p in problems]
        super().__init__(message or f"台账导入失败，共 {len(self.problems)} 处错误，未导入任何事项",
                         status=400, code="ledger_invalid")
        self.errors = [p.line() for p in self.problems]


@dataclass(frozen=True)
class Problem:
    """One thing to fix: Excel row number (0: the file itself), column letter, field, its title, message."""

    row: int
    column: str
    field: str
    title: str
    message: str

    def line(self) -> str:
        if not self.row:
            return self.message
        where = f"「{self.title}」" if self.title else ""
        return f"第 {self.row} 行{where}：{self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "field": self.field, "title": self.title,
                "message": self.message}


@dataclass
class Sheet:
    """The first worksheet as plain values: headings, and each data row with its Excel row number."""

    headers: list[str]
    rows: list[tuple[int, list[Cell]]]
    header_row: int = 1

    def as_json(self) -> dict[str, Any]:
        return {"headers": self.headers, "header_row": self.header_row, "rows": [[n, r] for n, r in self.rows]}

    @classmethod
    def from_json(cls, data: Any) -> Sheet:
        """The sheet a page carried back (refused when it is not what :meth:`as_json` wrote)."""
        broken = Refusal("表格数据不完整，请重新上传 Excel 文件", {"sheet": "请重新上传"})
        if not isinstance(data, dict) or not isinstance(data.get("headers"), list) \
                or not isinstance(data.get("rows"), list) or not isinstance(data.get("header_row", 1), int):
            raise broken
        headers = data["headers"]
        if len(headers) > MAX_COLUMNS or not all(isinstance(h, str) for h in headers):
            raise broken
        if len(data["rows"]) > MAX_ROWS:
            raise _too_many(len(data["rows"]))
        rows: list[tuple[int, list[Cell]]] = []
        for entry in data["rows"]:
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
                    and isinstance(entry[1], list) and len(entry[1]) <= len(headers)
                    and all(v is None or isinstance(v, str | int | float | bool) for v in entry[1])):
                raise broken
            rows.append((entry[0], list(entry[1])))
        return cls(list(headers), rows, data.get("header_row", 1))

    def letter(self, index: int) -> str:
        return get_column_letter(index + 1)


@dataclass
class LedgerCheck:
    """What :func:`check_rows` found: the rows ready to create and every problem."""

    rows: int = 0
    valid: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.valid)


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)


def _too_many(n: int) -> Refusal:
    return Refusal(f"表格有 {n} 行数据，一次最多导入 {MAX_ROWS} 行，请分批导入", {"file": "行数过多"}, status=413,
                   code="too_large")


# -- reading ------------------------------------------------------------------------------------
def read_sheet(source: IO[bytes], limits: ContainerLimits | None = None) -> Sheet:
    """The first worksheet of an .xlsx upload (raises :class:`Refusal` in Chinese for anything else)."""
    head = source.read(8192)
    source.seek(0)
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Refusal("这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 后再上传", {"file": "请上传 .xlsx 文件"},
                      status=415, code="unsupported_type")
    if not head:
        raise Refusal("文件是空的，请选择 Excel 台账文件（.xlsx）", {"file": "文件是空的"})
    if sniff(head) not in (XLSX, "application/zip"):
        raise Refusal("文件不是 Excel 工作簿（.xlsx），请选择 Excel 台账文件", {"file": "请上传 .xlsx 文件"},
                      status=415, code="unsupported_type")
    limits = limits or ContainerLimits()
    try:
        zf = open_container(source, limits)
        if sum(i.file_size for i in zf.infolist()) > limits.max_bytes:
            raise ContainerRefused("解压后内容过大")
    except ContainerRefused as exc:
        raise Refusal(f"Excel 文件未被接受：{exc.reason}", {"file": exc.reason}, status=413, code="too_large") from None
    except Exception:  # noqa: BLE001 - zipfile raises several kinds for a damaged file
        raise Refusal("Excel 文件已损坏，无法读取，请在 Excel 中重新保存后再上传", {"file": "无法读取"}) from None
    source.seek(0)
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        raw = []
        for row in ws.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):  # a lying dimension stays cheap
            raw.append(row)
            if len(raw) > MAX_ROWS + HEADER_SEARCH + 1:
                break
        wb.close()
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged workbook
        raise Refusal("Excel 文件已损坏，无法读取，请在 Excel 中重新保存后再上传", {"file": "无法读取"}) from None
    return _sheet(raw)


def _sheet(raw: list[tuple[Any, ...]]) -> Sheet:
    rows = [[_plain(v) for v in row] for row in raw]
    at = _header_index(rows)
    if at is None:
        raise Refusal("表格是空的：第 1 行应为列名（如 序号、事项名称、责任单位、完成时限）", {"file": "表格是空的"})
    headers = [visible_text(str(v)).strip() if v is not None else "" for v in rows[at]]
    while headers and not headers[-1]:
        headers.pop()
    if len(headers) > MAX_COLUMNS:
        raise Refusal(f"表格有 {len(headers)} 列，最多 {MAX_COLUMNS} 列", {"file": "列数过多"})
    data = []
    for n, row in enumerate(rows[at + 1:], start=at + 2):
        cells = row[:len(headers)]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
            continue
        data.append((n, cells))
    if len(data) > MAX_ROWS:
        raise _too_many(len(data))
    return Sheet(headers, data, at + 1)


def _header_index(rows: list[list[Cell]]) -> int | None:
    """The heading row: the first of the first rows with two known headings, else the first non-empty one."""
    first = None
    for i, row in enumerate(rows[:HEADER_SEARCH]):
        texts = [normalise_heading(v) for v in row if isinstance(v, str) and v.strip()]
        if not texts:
            continue
        first = i if first is None else first
        if sum(1 for t in texts if t in SYNONYMS or t in IGNORED) >= 2:
            return i
    return first


def _plain(value: Any) -> Cell:
    """A cell as JSON can carry it: dates as ISO text (read back by ``parse_date``)."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# -- mapping ------------------------------------------------------------------------------------
def importable_fields(typedef) -> list:
    """The fields a ledger column may fill (never a system field)."""
    return [f for f in typedef.fields if not f.system]


def guess_mapping(typedef, headers: list[str]) -> list[str]:
    """A field name for each column ("" = not imported), from its heading."""
    titles = {normalise_heading(f.title): f.name for f in importable_fields(typedef)}
    taken: set[str] = set()
    out = []
    for h in headers:
        name = guess_field(h, titles, taken)
        if name:
            taken.add(name)
        out.append(name)
    return out


def mapping_problems(typedef, sheet: Sheet, mapping: list[str]) -> list[Problem]:
    """Headings-level problems: a field given twice, a required field no column fills."""
    fields = {f.name: f for f in importable_fields(typedef)}
    problems = []
    seen: dict[str, str] = {}
    for i, name in enumerate(mapping):
        if not name:
            continue
        if name not in fields:
            raise Refusal(f"第 {sheet.letter(i)} 列对应的字段“{name}”不存在", {f"map-{i}": "请重新选择"})
        if name in seen:
            problems.append(Problem(sheet.header_row, sheet.letter(i), name, fields[name].title,
                                    f"与第 {seen[name]} 列对应同一字段，请只保留一列"))
        seen.setdefault(name, sheet.letter(i))
    for f in fields.values():
        if f.required and f.name not in seen:
            problems.append(Problem(sheet.header_row, "", f.name, f.title,
                                    "必填字段没有对应的列，请在“列对应”中选择，或在表格中补上此列"))
    return problems


# -- checking -----------------------------------------------------------------------------------
def _cstruct(typedef, units, values: dict[str, Cell]) -> tuple[dict[str, Any], dict[str, str]]:
    """The row as the schema's input, and the fields whose cells could not be read."""
    out: dict[str, Any] = {}
    bad: dict[str, str] = {}
    for name, raw in values.items():
        f = typedef.field_map[name]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            if f.kind == "date":
                out[name] = parse_date(raw).isoformat()
            elif f.kind == "datetime":
                out[name] = str(raw).strip().replace(" ", "T", 1)
            elif f.kind == "unit":
                out[name] = match_unit(units, str(raw))
            elif f.kind == "units":
                out[name] = [match_unit(units, p) for p in SPLIT.split(str(raw)) if p]
            elif f.kind == "multi_choice":
                parts = [p for p in SPLIT.split(str(raw)) if p]
                out[name] = [next((c.value for c in f.choices if p in (c.title, c.value)), p) for p in parts]
            elif f.kind == "choice":
                text = str(raw).strip()
                out[name] = next((c.value for c in f.choices if text in (c.title, c.value)), text)
            elif f.kind == "bool":
                out[name] = "true" if str(raw).strip() in ("是", "1", "True", "true", "√", "✓") else "false"
            elif f.kind == "int":
                out[name] = str(raw)
            elif f.kind == "textarea":
                out[name] = str(raw).strip()
            else:  # a line wrapped in its cell (Alt+Enter) is one line here; the schema refuses the rest
                out[name] = LINE_BREAKS.sub(" ", str(raw).strip())
        except CellError as exc:
            bad[name] = exc.message
    return out, bad


def check_rows(site, registry, board, sheet: Sheet, mapping: list[str]) -> LedgerCheck:
    """Every row read and validated; nothing is written (the preview)."""
    typedef = registry.duban_types[board.item_type]
    mapping = (list(mapping) + [""] * len(sheet.headers))[:len(sheet.headers)]
    result = LedgerCheck(rows=len(sheet.rows), problems=mapping_problems(typedef, sheet, mapping))
    result.ignored = [h or sheet.letter(i) for i, (h, m) in enumerate(zip(sheet.headers, mapping, strict=True))
                      if not m and h]
    if result.problems:
        return result
    columns = {name: i for i, name in enumerate(mapping) if name}
    titles = {f.name: f.title for f in typedef.fields}
    example_col = next((i for i, h in enumerate(sheet.headers) if normalise_heading(h) == "序号"), None)
    schema = required_messages(typedef.schema("add", site=site, registered_today=False))  # 「请填写标题」
    units = site["units"]
    for n, cells in sheet.rows:
        if _is_example(cells, example_col):
            result.rows -= 1
            continue
        values = {name: cells[i] if i < len(cells) else None for name, i in columns.items()}
        cstruct, bad = _cstruct(typedef, units, values)
        found = dict(bad)
        try:
            appstruct = schema.deserialize(cstruct)
        except colander.Invalid as exc:
            for name, msg in invalid_as_dict(exc).items():
                found.setdefault(name, msg)
        else:
            if not found:
                found = _before_create(site, board, typedef, appstruct)
        if found:
            for name, msg in found.items():
                letter = sheet.letter(columns[name]) if name in columns else ""
                result.problems.append(Problem(n, letter, name if name in titles else "",
                                               titles.get(name, ""), msg))
        else:
            result.valid.append((n, appstruct))
    if not result.problems and not result.valid:
        result.problems.append(Problem(0, "", "", "", "表格中没有可导入的数据行"))
    result.problems.sort(key=lambda p: (p.row, len(p.column), p.column))  # as the clerk reads the sheet
    return result


def _is_example(cells: list[Cell], column: int | None) -> bool:
    """The template's example row (序号 「示例」), which is never imported."""
    return column is not None and column < len(cells) and str(cells[column] or "").strip() == EXAMPLE_MARK


def _before_create(site, board, typedef, appstruct: dict[str, Any]) -> dict[str, str]:
    """The board's own creation rule (12345: a repeated complaint), as row problems."""
    if not typedef.before_create:
        return {}
    module, _, name = typedef.before_create.partition(":")
    values = {f.name: appstruct.get(f.name, f._missing()) for f in typedef.fields}
    try:
        getattr(import_module(module), name)(site, board, values, typedef)
    except Refusal as exc:
        return dict(exc.fields) or {"_": exc.message}
    return {}


def import_rows(site, registry, board_id: str, sheet: Sheet, mapping: list[str], actor: str) -> ImportResult:
    """Check every row, then create them all in the caller's transaction (or raise, creating none)."""
    from ..audit.log import record
    from ..content_types.actions import create_item

    board = site.boards.get(board_id)
    if board is None:
        raise Refusal(f"版块“{board_id}”不存在", status=404)
    check = check_rows(site, registry, board, sheet, mapping)
    if not check.ok:
        raise LedgerImportError(check.problems)
    result = ImportResult()
    for _n, appstruct in check.valid:
        result.created.append(create_item(site, board, appstruct, actor, registry).item_id)
    record(site, "import", actor, "", what="ledger", board=board_id, count=len(result.created))
    return result


def strict_mapping(typedef, sheet: Sheet) -> list[str]:
    """The guessed mapping, refusing headings it cannot place (the CLI has no mapping page)."""
    mapping = guess_mapping(typedef, sheet.headers)
    unknown = [Problem(sheet.header_row, sheet.letter(i), "", "", f"无法识别的列名「{h}」")
               for i, (h, m) in enumerate(zip(sheet.headers, mapping, strict=True))
               if h and not m and normalise_heading(h) not in IGNORED]
    if unknown:
        raise LedgerImportError(unknown)
    return mapping


def _read_strict(site, registry, source: IO[bytes] | str, board_id: str) -> tuple[Sheet, list[str]]:
    """The sheet and its mapping by headings, for callers without a mapping page (the CLI)."""
    if board_id not in site.boards:
        raise LedgerImportError([f"版块“{board_id}”不存在"])
    data: IO[bytes]
    if isinstance(source, str):
        with open(source, "rb") as f:
            data = io.BytesIO(f.read())
    else:
        data = source
    try:
        sheet = read_sheet(data)
    except Refusal as exc:
        raise LedgerImportError([exc.message]) from None
    typedef = registry.duban_types[site.boards[board_id].item_type]
    return sheet, strict_mapping(typedef, sheet)


def check_ledger(site, registry, source: IO[bytes] | str, board_id: str) -> LedgerCheck:
    """The preview of a workbook mapped by its headings (nothing written)."""
    sheet, mapping = _read_strict(site, registry, source, board_id)
    return check_rows(site, registry, site.boards[board_id], sheet, mapping)


def import_ledger(site, registry, source: IO[bytes] | str, board_id: str, actor: str) -> ImportResult:
    """Read, map by headings (unknown headings refused) and import a workbook, all or nothing."""
    sheet, mapping = _read_strict(site, registry, source, board_id)
    return import_rows(site, registry, board_id, sheet, mapping, actor)
