"""立卷归档: 档号, freezing, refusals, concurrency, corrections, legal hold."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import transaction
from ZODB.POSException import ConflictError

from duban_archive.archive.filing import (
    FilingRefused,
    correct_metadata,
    file_item,
    queue,
)
from duban_archive.content_types.actions import Frozen, add_feedback, edit_item
from duban_archive.content_types.site_access import open_site

from .conftest import OFFICER
from .helpers import pdf_text


def _file(app, item_id: str, retention: str | None = None):
    with open_site(app.registry) as site:
        rec = file_item(site, site.get_item(item_id), app.registry, retention=retention,
                        actor="records_officer", principals=OFFICER)
        code = rec.archival_code
        transaction.commit()
    return code


def test_closed_item_waits_in_queue_then_files_with_code_and_freezes(app, closed_item):
    item_id = closed_item(photos=0, signed=1, signed_pages=1)
    with open_site(app.registry) as site:
        assert [i.item_id for i in queue(site)] == [item_id]
    code = _file(app, item_id)  # 重点工作任务 -> 永久 by the 保管期限表
    year = date.today().year
    assert code == f"Z109-WS·{year}-Y-ZJJ-0001"
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert item.state == "archived" and item.archived and item.archival_code == code
        assert item.history[-1]["transition"] == "file" and item.history[-1]["actor"] == "records_officer"
        assert queue(site) == []
        entry = [e for e in site["audit"].for_target(item_id) if e["action"] == "file"][-1]
        assert entry["archival_code"] == code and entry["retention"] == "Y"
        # frozen for everyone, admin included
        with pytest.raises(Frozen):
            edit_item(site, item, {"title": "改标题"}, "admin", app.registry)
        with pytest.raises(Frozen):
            add_feedback(site, item, {"done": "x", "progress": "y", "next_steps": "z"}, "admin", app.registry)
        admin = site["users"]["admin"]
        assert not any(perm in ("edit", "add_feedback", "add_attachment") for _, p, perm in item.__acl__
                       if p in ("role:sysadmin", f"user:{admin.username}"))
        # the sealed dossier carries the 档号 and the 归档章 values
        rec = site["archive"][item_id]
        with rec.current.dossier.open("r") as f:
            text = pdf_text(f.read(), 1, 1)
        assert code in text and "ZJJ" in text and "永久（Y）" in text
        # filing twice is refused
        with pytest.raises(FilingRefused) as info:
            file_item(site, item, app.registry, retention="Y", actor="records_officer", principals=OFFICER)
        assert info.value.status == 409


def test_refusals_change_nothing(app, closed_item):
    open_id = closed_item(photos=0, signed=0, close=False)
    closed_id = closed_item(photos=0, signed=0, board="rcgl")
    with open_site(app.registry) as site:
        with pytest.raises(FilingRefused) as info:
            file_item(site, site.get_item(open_id), app.registry, retention="Y", actor="records_officer",
                      principals=OFFICER)
        assert info.value.status == 409 and "已办结" in info.value.message
        with pytest.raises(FilingRefused) as info:  # not a records officer
            file_item(site, site.get_item(closed_id), app.registry, retention="Y", actor="admin",
                      principals=["role:admin"])
        assert info.value.status == 403
        with pytest.raises(FilingRefused) as info:
            file_item(site, site.get_item(closed_id), app.registry, retention="X", actor="records_officer",
                      principals=OFFICER)
        assert info.value.status == 400 and "retention" in info.value.fields
        transaction.abort()
    # 日常管理事项 defaults to 定期10年; the refused attempts consumed no 件号
    assert _file(app, closed_id).endswith("-D10-ZJJ-0001")


def test_tampered_original_blocks_filing_with_the_reason(app, closed_item):
    item_id = closed_item(photos=1, signed=0)
    with open_site(app.registry) as site:
        att = next(iter(site.get_item(item_id).attachments.values()))
        att.sha256 = "0" * 64  # as if the stored bytes no longer matched what was captured
        transaction.commit()
    with open_site(app.registry) as site:
        with pytest.raises(FilingRefused) as info:
            file_item(site, site.get_item(item_id), app.registry, retention=None, actor="records_officer",
                      principals=OFFICER)
        assert "四性检测未通过" in info.value.message and "真实性" in info.value.message
        transaction.abort()
    with open_site(app.registry) as site:
        assert site.get_item(item_id).state == "closed" and item_id not in site["archive"]


def test_concurrent_filing_draws_consecutive_codes_before_anyone_commits(app, closed_item):
    """The 件号 is drawn in its own short transaction: four filings hold 0001-0004 while all of them
    are still uncommitted, and a filing retried after a conflict keeps the number it drew."""
    ids = [closed_item(photos=0, signed=0) for _ in range(4)]
    drawn: dict[str, str] = {}
    codes: dict[str, str] = {}
    conflicts: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(ids))

    def worker(item_id: str) -> None:
        tm = transaction.TransactionManager()
        try:
            for attempt in range(6):  # what pyramid_retry does for a request
                with open_site(app.registry, tm=tm) as site:
                    rec = file_item(site, site.get_item(item_id), app.registry, retention="Y",
                                    actor="records_officer", principals=OFFICER)
                    code = rec.archival_code
                    drawn.setdefault(item_id, code)
                    if attempt == 0:
                        barrier.wait(timeout=60)  # every filing has its number; none has committed
                    try:
                        tm.commit()
                        codes[item_id] = code
                        return
                    except ConflictError:
                        conflicts.append(item_id)
                        tm.abort()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    year = date.today().year
    assert sorted(codes.values()) == [f"Z109-WS·{year}-Y-ZJJ-{n:04d}" for n in range(1, 5)]
    assert codes == drawn  # a retried filing (the listing index may conflict) kept its number
    with open_site(app.registry) as site:
        assert {i: site.get_item(i).archival_code for i in ids} == codes
        root = site["archive"]
        assert root.counters[f"Z109|{year}|Y|ZJJ"].value == 4
        assert queue(site) == []


def _attempt(app, item_id: str, retention: str | None = "Y", commit: bool = False) -> str:
    """File ``item_id``; without ``commit`` the transaction is aborted, as when every retry conflicted."""
    with open_site(app.registry) as site:
        rec = file_item(site, site.get_item(item_id), app.registry, retention=retention,
                        actor="records_officer", principals=OFFICER)
        code = rec.archival_code
        if commit:
            transaction.commit()
        else:
            transaction.abort()
    return code


def test_an_aborted_filing_keeps_its_number_for_the_next_attempt(app, closed_item):
    a, b, c = (closed_item(photos=0, signed=0) for _ in range(3))
    first = _attempt(app, a)  # the request failed after drawing: 0001 stays with item a
    assert first.endswith("-0001")
    assert _attempt(app, b, commit=True).endswith("-0002")
    assert _attempt(app, a) == first  # and again
    assert _attempt(app, a, commit=True) == first
    assert _attempt(app, c, commit=True).endswith("-0003")  # no gap, no duplicate
    with open_site(app.registry) as site:
        root = site["archive"]
        assert sorted(r.piece for r in root.values()) == [1, 2, 3]
        assert root.handed_out(root[a].series) == [1, 2, 3]


def test_the_short_draw_is_retried_when_another_draw_commits_first(app, closed_item):
    from duban_archive.archive import filing

    a, b = (closed_item(photos=0, signed=0) for _ in range(2))
    real_draw = filing._draw
    raced: list[int] = []

    def draw(root, item_id, series, code_for):
        result = real_draw(root, item_id, series, code_for)
        if not raced:  # another process draws for b and commits first: this draw's commit conflicts
            tm2 = transaction.TransactionManager()
            with open_site(app.registry, tm=tm2) as s2:
                raced.append(real_draw(s2["archive"], b, series, code_for)[0])
                tm2.commit()
        return result

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(filing, "_draw", draw)
        assert _attempt(app, a, commit=True).endswith("-0002")  # drawn again after the conflict
    assert raced == [1]
    assert _attempt(app, b, commit=True).endswith("-0001")  # b's reservation


def test_a_refused_filing_hands_its_number_back_only_when_it_is_the_last(app, closed_item):
    from duban_archive.archive import filing

    a, b, c = (closed_item(photos=0, signed=0) for _ in range(3))
    year = date.today().year
    series = f"Z109|{year}|Y|ZJJ"
    real_seal = filing._seal
    refuse = {a}
    others: list[str] = []

    def seal(site, item, *args, **kw):
        if others:  # another filing draws while this one renders
            other = others.pop()
            with open_site(app.registry, tm=transaction.TransactionManager()) as s2:
                filing.reserve_piece(s2["archive"], other, series, lambda n: f"code-{n}")
        if item.item_id in refuse:
            raise FilingRefused(409, "档案 PDF 生成失败：测试")
        return real_seal(site, item, *args, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(filing, "_seal", seal)
        with pytest.raises(FilingRefused):
            _attempt(app, a)
        with open_site(app.registry) as site:  # refused while still the last drawn: handed back
            root = site["archive"]
            assert root.counters[series].value == 0 and a not in root.reservations
        others.append(b)
        with pytest.raises(FilingRefused):
            _attempt(app, a)  # refused after b drew 0002: a keeps 0001 (handing it out again leaves a gap)
        with open_site(app.registry) as site:
            root = site["archive"]
            assert root.counters[series].value == 2 and root.reservations[a] == (series, 1)
        refuse.clear()
        assert _attempt(app, a, commit=True).endswith("-0001")
        assert _attempt(app, b, commit=True).endswith("-0002")
        assert _attempt(app, c, commit=True).endswith("-0003")


def test_filing_in_another_series_hands_the_first_number_back(app, closed_item):
    a, b = (closed_item(photos=0, signed=0) for _ in range(2))
    assert _attempt(app, a, "D30").endswith("-D30-ZJJ-0001")  # drawn, then the request failed
    assert _attempt(app, b, "D30", commit=True).endswith("-D30-ZJJ-0002")
    assert _attempt(app, a, "Y", commit=True).endswith("-Y-ZJJ-0001")  # a is filed 永久 after all
    with open_site(app.registry) as site:
        root = site["archive"]
        year = date.today().year
        assert root.released[f"Z109|{year}|D30|ZJJ"] == (1,)  # 0001 of D30 waits for the next filing
    c = closed_item(photos=0, signed=0)
    assert _attempt(app, c, "D30", commit=True).endswith("-D30-ZJJ-0001")
    with open_site(app.registry) as site:
        root = site["archive"]
        assert root.handed_out(f"Z109|{year}|D30|ZJJ") == [1, 2] and not root.released


def test_an_archive_from_before_reservations_files_as_before(app, closed_item):
    a, b = (closed_item(photos=0, signed=0) for _ in range(2))
    assert _attempt(app, a, commit=True).endswith("-0001")
    with open_site(app.registry) as site:
        root = site["archive"]
        for name in ("reservations", "released"):
            root.__dict__.pop(name, None)  # the pickle of an older version
        root._p_changed = True
        transaction.commit()
    with open_site(app.registry) as site:
        assert site["archive"].reservations is None  # the class default
    assert _attempt(app, b, commit=True).endswith("-0002")
    with open_site(app.registry) as site:
        assert site["archive"].reservations is not None


def test_correction_is_logged_and_makes_a_new_version(app, closed_item):
    item_id = closed_item(photos=0, signed=0, title="原题名")
    code = _file(app, item_id)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        old = site["archive"][item_id].current
        old_sha = old.sha256
        version = correct_metadata(site, item, app.registry, {"title": "更正后的题名"}, reason="题名录入错误",
                                   actor="records_officer")
        transaction.commit()
        assert version.version == 2
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        rec = site["archive"][item_id]
        assert item.title == "更正后的题名" and item.archival_code == code and rec.archival_code == code
        assert [v.version for v in rec.versions] == [1, 2]
        with rec.versions[0].dossier.open("r") as f:
            assert "原题名" in pdf_text(f.read(), 1, 1)
        with rec.versions[1].dossier.open("r") as f:
            new_text = "".join(pdf_text(f.read()).split())  # the 备考表 note wraps
        assert "更正后的题名" in new_text and "由“原题名”更正为“更正后的题名”" in new_text
        assert rec.versions[0].sha256 == old_sha
        entry = [e for e in site["audit"].for_target(item_id) if e["action"] == "correct"][-1]
        assert (entry["field"], entry["old"], entry["new"]) == ("title", "原题名", "更正后的题名")
        with pytest.raises(FilingRefused) as info:  # the 档号 and 保管期限 cannot be "corrected"
            correct_metadata(site, item, app.registry, {"retention": "D10"}, reason="x", actor="records_officer")
        assert info.value.status == 400


def test_correction_refusals_name_every_field_and_change_nothing(app, closed_item):
    item_id = closed_item(photos=0, signed=0, title="原题名")
    _file(app, item_id)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        with pytest.raises(FilingRefused) as info:
            correct_metadata(site, item, app.registry,
                             {"title": " ", "classification": "bogus", "archival_code": "X", "leader": 7},
                             reason="", actor="records_officer")
        fields = info.value.fields
        assert info.value.status == 400
        assert set(fields) == {"title", "classification", "archival_code", "leader", "reason"}
        assert fields["title"].startswith("请填写") and "取值无效" in fields["classification"]
        assert fields["leader"] == "应为文本"
        assert "不可更正" in fields["archival_code"] and fields["reason"] == "请填写更正原因"
        with pytest.raises(FilingRefused, match="没有需要更正的内容"):
            correct_metadata(site, item, app.registry, {"title": "原题名"}, reason="核对", actor="records_officer")
        rec = site["archive"][item_id]
        assert item.title == "原题名" and len(rec.versions) == 1 and not rec.corrections


def test_a_conflicting_filings_retry_reuses_the_package_it_sealed(app, make_item):
    """The retry of a filing (same item state, same 档号) takes the package built a moment ago."""
    from types import SimpleNamespace

    from duban_archive.archive.filing import SealedPackages
    from duban_archive.content_types.site_access import open_site

    item_id = make_item()
    sealed = SealedPackages()
    builds: list[int] = []

    def build():
        builds.append(1)
        return SimpleNamespace(data=b"zip", dossier=b"%PDF")

    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        key = (item._p_oid, item._p_serial, "Z109-WS·2026-Y-BGS-0001", 1, "归档", (1,))
        first = sealed.get_or_build(key, build, item)
        transaction.abort()  # the filing's commit conflicted
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert sealed.get_or_build(key, build, item) is first and len(builds) == 1  # the retry renders nothing
        item.modified = item.modified  # the retry commits
        transaction.commit()
    with open_site(app.registry) as site:  # once committed, the package is let go
        sealed.get_or_build(key, build, site.get_item(item_id))
        assert len(builds) == 2
