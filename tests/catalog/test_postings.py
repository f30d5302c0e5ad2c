"""Array postings hold exactly what whoosh's own W3 postings would, and survive merges."""

from datetime import datetime

import pytest
from whoosh import index as windex
from whoosh import query as Q
from whoosh.writing import SegmentWriter

from duban_archive.catalog.codec import Codec
from duban_archive.catalog.postings import ArrayTermsReader, open_writer
from duban_archive.catalog.schema import FRAGMENT_FIELDS, make_schema

TEXTS = [
    "按照“13710”工作制度要求，承办单位应在3日内反馈办理进展情况。",
    "晋市政办〔2020〕51号：推进老旧小区改造，完成 3 个老旧小区改造任务。",
    "信息督办系统上线，督查室按月通报；老旧小区改造持续推进。",
    "ＺＤＧＺ－２０２６ 城区供暖管网改造，更换供热管道 12 公里。",
    "安全生产检查：重点企业全覆盖，发现隐患立即整改。",
]


def doc(i: int) -> dict:
    return {
        "id": f"item-{i}", "number": f"ZDGZ-2026-{i:04d}", "title": TEXTS[i % 5][:12] + f"第{i}项",
        "body": TEXTS[i % 5] + TEXTS[(i * 3 + 1) % 5], "board": ["zdgz", "ldps"][i % 2],
        "state": ["assigned", "final"][i % 3 == 0], "units": "zjj,jtj" if i % 2 else "cgj",
        "year": 2024 + i % 3,
        "registered_on": datetime(2025, 1, 1 + i % 28), "allowed": f"unit:zjj,role:supervisor,user:u{i % 4}",
    }


def write(path, docs, *, ours: bool, delete=()) -> None:
    path.mkdir()
    ix = windex.create_in(str(path), make_schema())
    for chunk in (docs[: len(docs) // 2], docs[len(docs) // 2:]):  # two segments
        w = open_writer(ix) if ours else SegmentWriter(ix, codec=Codec())
        for d in chunk:
            if not ours:  # our writer fills the fragment fields from the text fields itself
                d = {**d, **{g: d[t] for t, g in FRAGMENT_FIELDS.items() if t in d}}
            w.add_document(**d)
        w.commit(merge=False)
    if delete:
        w = open_writer(ix) if ours else SegmentWriter(ix, codec=Codec())
        for item_id in delete:
            w.delete_by_term("id", item_id)
        w.commit(merge=False)


def postings(path) -> dict:
    """Every term's postings as (global docnum, weight, positions or None), by stored id."""
    ix = windex.open_dir(str(path))
    out = {}
    with ix.searcher() as s:
        reader = s.reader()
        ids = {n: f["id"] for n, f in reader.iter_docs()}
        for fieldname, text in reader.all_terms():
            fmt = s.schema[fieldname].format
            m = reader.postings(fieldname, text)
            rows = []
            while m.is_active():
                if m.id() in ids:
                    pos = tuple(m.value_as("positions")) if fmt.supports("positions") else None
                    rows.append((ids[m.id()], round(m.weight(), 6), pos))
                m.next()
            if rows:
                out[(fieldname, text)] = sorted(rows)
    return out


def test_array_postings_equal_whoosh_w3_postings(tmp_path):
    docs = [doc(i) for i in range(40)]
    write(tmp_path / "w3", docs, ours=False)
    write(tmp_path / "arr", docs, ours=True)
    expected, got = postings(tmp_path / "w3"), postings(tmp_path / "arr")
    assert ("body", "老旧".encode()) in got  # sub-words, numbers and full-width text are there
    assert ("body", b"13710") in got and ("number", b"zdgz-2026-0007") in got
    assert ("body_g", "旧小".encode()) in got  # character bigrams, with character positions
    assert got == expected


def test_merging_segments_drops_deleted_documents(tmp_path):
    docs = [doc(i) for i in range(30)]
    gone = ["item-3", "item-17", "item-29"]
    write(tmp_path / "a", docs, ours=True, delete=gone)
    ix = windex.open_dir(str(tmp_path / "a"))
    w = open_writer(ix)
    w.commit(optimize=True)  # one segment: the array merge path, with deletions renumbered
    ix = windex.open_dir(str(tmp_path / "a"))
    assert len(ix._segments()) == 1
    with ix.searcher() as s:
        assert isinstance(s.reader()._terms, ArrayTermsReader)
    write(tmp_path / "b", [d for d in docs if d["id"] not in gone], ours=True)
    assert postings(tmp_path / "a") == postings(tmp_path / "b")


@pytest.mark.parametrize("q", [
    Q.Phrase("body", ["老旧小区", "改造"]), Q.Phrase("title", ["信息", "督办"]),
    Q.Term("body", "13710"), Q.Term("units", "jtj"),
    Q.And([Q.Term("body", "改造"), Q.Not(Q.Term("state", "final"))]), Q.Prefix("number", "zdgz-2026-001"),
    Q.NumericRange("year", 2025, 2026), Q.DateRange("registered_on", datetime(2025, 1, 3), datetime(2025, 1, 9)),
])
def test_whoosh_queries_on_array_postings_find_what_w3_finds(tmp_path, q):
    docs = [doc(i) for i in range(40)]
    write(tmp_path / "w3", docs, ours=False, delete=["item-5"])
    write(tmp_path / "arr", docs, ours=True, delete=["item-5"])
    found = []
    for name in ("w3", "arr"):
        with windex.open_dir(str(tmp_path / name)).searcher() as s:
            found.append([(h["id"], round(h.score, 5)) for h in s.search(q, limit=None)])
    assert found[0] and found[0] == found[1]


def test_a_deleted_index_is_not_kept_mapped(tmp_path):
    """A rebuild deletes the old generation; its segment files must not stay mapped (disk space)."""
    import shutil

    from duban_archive.catalog import postings

    write(tmp_path / "old", [doc(i) for i in range(10)], ours=True)
    with windex.open_dir(str(tmp_path / "old")).searcher() as s:
        assert s.search(Q.Term("units", "jtj")).estimated_length()
    held = [f.path for f in postings._FILES.values() if f.path and f.path.startswith(str(tmp_path / "old"))]
    assert held  # mapped while the index is there (shared by later readers)
    shutil.rmtree(tmp_path / "old")
    write(tmp_path / "new", [doc(i) for i in range(10)], ours=True)
    with windex.open_dir(str(tmp_path / "new")).searcher() as s:
        assert s.search(Q.Term("units", "jtj")).estimated_length()
    assert not [f for f in postings._FILES.values() if f.path and f.path.startswith(str(tmp_path / "old"))]
