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
    dispose,
    file_item,
    queue,
    set_legal_hold,
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
                       if p in ("role:admin", f"user:{admin.username}"))
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


def test_concurrent_filing_gives_distinct_codes(app, closed_item):
    ids = [closed_item(photos=0, signed=0) for _ in range(2)]
    codes: dict[str, str] = {}
    conflicts: list[str] = []
    barrier = threading.Barrier(2)

    def worker(item_id: str) -> None:
        tm = transaction.TransactionManager()
        for attempt in range(5):  # what pyramid_retry does for a request
            with open_site(app.registry, tm=tm) as site:
                rec = file_item(site, site.get_item(item_id), app.registry, retention="Y",
                                actor="records_officer", principals=OFFICER)
                if attempt == 0:
                    barrier.wait(timeout=60)  # both hold piece 1 now: the second commit must conflict
                try:
                    code = rec.archival_code
                    tm.commit()
                    codes[item_id] = code
                    return
                except ConflictError:
                    conflicts.append(item_id)
                    tm.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(codes) == 2 and len(set(codes.values())) == 2
    assert sorted(c[-4:] for c in codes.values()) == ["0001", "0002"]
    # the loser conflicts at least once on the 件号 counter; a retry may conflict once more
    # with the winner's after-commit full-text queue drain, which is harmless
    assert 1 <= len(conflicts) <= 3 and set(conflicts) <= set(ids)
    with open_site(app.registry) as site:
        assert {site.get_item(i).archival_code for i in ids} == set(codes.values())


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


def test_legal_hold_blocks_disposal(app, closed_item):
    item_id = closed_item(photos=0, signed=0, board="rcgl")  # 定期10年
    _file(app, item_id)
    with open_site(app.registry) as site:
        year = site["archive"][item_id].year
        late = date(year + 11, 1, 1)  # the 10 years run from 1 January after the 年度
        with pytest.raises(FilingRefused) as info:
            dispose(site, item_id, actor="records_officer", reason="保管期满", approver="王主任",
                    on=date(year + 10, 12, 31))
        assert info.value.status == 409 and "保管期限未满" in info.value.message
        assert f"{year + 11} 年 1 月 1 日起" in info.value.message
        set_legal_hold(site, item_id, hold=True, reason="审计调查", actor="records_officer")
        with pytest.raises(FilingRefused) as info:
            dispose(site, item_id, actor="records_officer", reason="保管期满", approver="王主任", on=late)
        assert "冻结" in info.value.message and "审计调查" in info.value.message
        set_legal_hold(site, item_id, hold=False, reason="", actor="records_officer")
        with pytest.raises(FilingRefused) as info:  # the 销毁清册 entry needs the appraisal and approver
            dispose(site, item_id, actor="records_officer", reason=" ", approver="", on=late)
        assert info.value.status == 400 and set(info.value.fields) == {"reason", "approver"}
        assert site["archive"][item_id].disposed is None
        rec = dispose(site, item_id, actor="records_officer", reason="保管期满，经鉴定无保存价值", approver="王主任",
                      on=late)
        assert rec.disposed == late and rec.disposal["approver"] == "王主任"
        assert "经鉴定销毁" in rec.notes[-1] and "王主任" in rec.notes[-1]
        entry = [e for e in site["audit"].for_target(item_id) if e["action"] == "dispose"][-1]
        assert entry["reason"] == "保管期满，经鉴定无保存价值" and entry["approver"] == "王主任"
        # destroyed is final: no second disposal, no hold, no correction
        with pytest.raises(FilingRefused, match="已于"):
            dispose(site, item_id, actor="records_officer", reason="x", approver="y", on=late)
        with pytest.raises(FilingRefused, match="已销毁"):
            set_legal_hold(site, item_id, hold=True, reason="诉讼", actor="records_officer")
        with pytest.raises(FilingRefused, match="已销毁"):
            correct_metadata(site, site.get_item(item_id), app.registry, {"title": "新"}, reason="x",
                             actor="records_officer")


def test_permanent_records_are_never_disposed(app, closed_item):
    item_id = closed_item(photos=0, signed=0)  # 重点工作任务 -> 永久
    _file(app, item_id)
    with open_site(app.registry) as site:
        with pytest.raises(FilingRefused, match="永久保管的档案不得销毁"):
            dispose(site, item_id, actor="records_officer", reason="x", approver="y", on=date(2999, 1, 1))


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
        assert fields["title"] == "必需" and "取值无效" in fields["classification"] and fields["leader"] == "应为文本"
        assert "不可更正" in fields["archival_code"] and fields["reason"] == "请填写更正原因"
        with pytest.raises(FilingRefused, match="没有需要更正的内容"):
            correct_metadata(site, item, app.registry, {"title": "原题名"}, reason="核对", actor="records_officer")
        rec = site["archive"][item_id]
        assert item.title == "原题名" and len(rec.versions) == 1 and not rec.corrections
