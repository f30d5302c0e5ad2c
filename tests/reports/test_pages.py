"""The HTML pages: the bell, the inbox, the dashboard (local ECharts), scores with the adjustment form."""

from duban_archive.testing import login


def test_bell_inbox_dashboard_and_scores(app, testapp, make_item):
    from tests.notifications.conftest import at
    from tests.notifications.test_reminders import _assigned_item

    def advance(item_id, steps, moment):
        import transaction

        from duban_archive.content_types.site_access import open_site
        from duban_archive.timeutil import frozen_now
        from tests.notifications.conftest import principals

        with frozen_now(moment), open_site(app.registry) as site:
            item = site.get_item(item_id)
            wf = app.registry.duban_workflows[item.workflow]
            for name, who in steps:
                wf.fire(item, name, who, principals(site, who), site=site)
            transaction.commit()

    item_id = _assigned_item(make_item, advance, moment=at(2026, 5, 4, 9, 0))
    login(testapp, "handler")
    home = testapp.get("/worklist")
    bell = home.html.find(id="bell")
    assert bell is not None and bell.find(class_="badge").text.strip() == "1"
    inbox = testapp.get("/inbox")
    assert "新交办督办事项" in inbox.text
    inbox.forms["mark-read"].submit().follow()
    assert testapp.get("/worklist").html.find(id="bell").find(class_="badge") is None
    testapp.get("/dashboard", status=403)
    testapp.reset()  # a fresh browser

    login(testapp, "supervisor")
    dash = testapp.get("/dashboard")
    assert '<script src="/static/vendor/echarts.min.js">' in dash.text and "cdn" not in dash.text.lower()
    assert "按时签收率" in dash.text and 'id="chart-trend"' in dash.text
    page = testapp.get("/scores?period=2026-05")
    form = page.forms["adjust-form"]
    form["unit"] = "jtj"
    form["kind"] = "other"
    form["date"] = "2026-05-20"
    bad = form.submit(status=400)
    assert "须填写分值" in bad.text
    form = bad.forms["adjust-form"]
    assert (form["unit"].value, form["kind"].value, form["date"].value) == ("jtj", "other", "2026-05-20")
    form["points"] = "-2"
    form["note"] = "会议缺席"
    done = form.submit().follow()
    assert "其他问题酌情加扣分（会议缺席）：-2" in done.text
    assert "2026年5月" in testapp.get("/scores?period=2026-05").text
    assert "期间格式" in testapp.get("/scores?period=may").text
    assert "月度通报" in testapp.get("/reports").text

    # the item's 催办督办 tab: 督查室 starts 督办 from the page, the PDFs are linked
    page = testapp.get(f"/boards/zdgz/{item_id}/")
    assert "催办督办" in page.text and f"/api/v1/items/{item_id}/notice.pdf?kind=escalate" in page.text
    form = page.forms["escalate-form"]
    form["level"] = "2"
    form["reason"] = "多次催办仍未落实"
    after = form.submit().follow()
    assert "已启动督办" in after.text and "二级督办：多次催办仍未落实" in after.text
