"""Auth and directory endpoints: tokens, throttling, failed-login audit, equal time, /me, units, boards, CSRF."""

from __future__ import annotations

from duban_archive.testing import api, login


def test_token_then_me_shows_who_i_am(testapp):
    res = testapp.post_json("/api/v1/auth/token", {"username": "handler", "password": "duban-demo"})
    assert res.json["expires"].endswith("+08:00")
    me = testapp.get("/api/v1/me", headers={"Authorization": f"Bearer {res.json['token']}"}).json
    assert me["username"] == "handler" and me["roles"] == ["handler"] and me["unit"] == "zjj"
    assert me["unit_title"] == "市住建局"


def token(testapp, username, password, client="127.0.0.1", status=200):
    return testapp.post_json("/api/v1/auth/token", {"username": username, "password": password},
                             extra_environ={"REMOTE_ADDR": client}, status=status)


def test_wrong_password_is_401_then_a_short_progressive_delay_429(testapp, fake_clock):
    for _ in range(3):
        res = token(testapp, "leader", "wrong-one", status=401)
        assert res.json["error"] == "unauthorized" and res.json["message"] == "用户名或密码错误"
    # a short wait now: even the right password is refused (unchecked) until it has passed
    res = token(testapp, "leader", "duban-demo", status=429)
    assert res.json["error"] == "too_many_requests" and "2 秒后再试" in res.json["message"]
    assert res.headers["Retry-After"] == "2" and set(res.json) == {"error", "message", "fields"}
    fake_clock.advance(2)
    token(testapp, "leader", "wrong-two", status=401)
    assert token(testapp, "leader", "duban-demo", status=429).headers["Retry-After"] == "4"  # doubled
    # other accounts are not affected
    token(testapp, "handler", "duban-demo", status=200)
    fake_clock.advance(4)
    token(testapp, "leader", "duban-demo", status=200)


def test_spraying_usernames_from_one_client_gets_429(testapp, fake_clock):
    statuses = [token(testapp, f"user{i:03d}", "Winter2026!", client="203.0.113.7", status="*").status_int
                for i in range(40)]
    assert statuses[:10] == [401] * 10  # ten free failures per client, whatever the usernames
    assert set(statuses[10:]) == {429}  # then the address must wait (not checked, not counted)
    res = token(testapp, "handler", "duban-demo", client="203.0.113.7", status=429)
    assert int(res.headers["Retry-After"]) <= 300
    token(testapp, "handler", "duban-demo", client="198.51.100.1", status=200)  # other clients unaffected


def test_attacker_elsewhere_only_delays_the_owner(testapp, fake_clock):
    token(testapp, "supervisor", "duban-demo", client="192.0.2.10")  # the owner's usual address
    for i in range(60):  # a distributed attack: 60 addresses, waiting out every delay
        res = token(testapp, "supervisor", f"guess-{i}", client=f"198.51.100.{i}", status="*")
        if res.status_int == 429:
            fake_clock.advance(int(res.headers["Retry-After"]))
            token(testapp, "supervisor", f"guess-{i}", client=f"198.51.100.{i}", status=401)
    # the owner from their usual address: no delay at all
    token(testapp, "supervisor", "duban-demo", client="192.0.2.10", status=200)
    # from a new address: at most a 30 s soft delay (not a 15-minute lockout), then in
    for i in range(12):
        token(testapp, "supervisor", f"guess-x{i}", client=f"198.51.101.{i}", status="*")
    res = token(testapp, "supervisor", "duban-demo", client="192.0.2.99", status="*")
    if res.status_int == 429:
        assert int(res.headers["Retry-After"]) <= 30
        fake_clock.advance(int(res.headers["Retry-After"]))
        res = token(testapp, "supervisor", "duban-demo", client="192.0.2.99")
    assert res.status_int == 200


def test_owner_on_the_attacked_address_waits_at_most_five_minutes(testapp, fake_clock):
    failures = 0
    while failures < 20:  # someone guesses from the owner's own address, waiting out every delay
        res = token(testapp, "leader", "wrong", status="*")
        if res.status_int == 429:
            fake_clock.advance(int(res.headers["Retry-After"]))
        else:
            failures += 1
    res = token(testapp, "leader", "duban-demo", status=429)
    assert res.headers["Retry-After"] == "300"  # the cap: one guess per 5 minutes, never a lockout
    fake_clock.advance(300)
    token(testapp, "leader", "duban-demo", status=200)


def test_failed_api_login_is_audit_logged_and_committed(testapp, site):
    token(testapp, "leader", "wrong-one", client="10.9.8.7", status=401)
    token(testapp, "ghost", "wrong-one", client="10.9.8.6", status=401)
    site._p_jar.sync()
    failed = [e for e in site["audit"].entries.values() if e["action"] == "login_failed"]
    assert [(e["actor"], e["client"], e["via"]) for e in failed] == [
        ("leader", "10.9.8.7", "api"), ("ghost", "10.9.8.6", "api")]


def _medians(fn, pairs):
    from statistics import median
    from time import perf_counter

    unknown, known = [], []
    for u, k in pairs:  # interleaved: load changes hit both series alike
        start = perf_counter()
        fn(u)
        unknown.append(perf_counter() - start)
        start = perf_counter()
        fn(k)
        known.append(perf_counter() - start)
    return median(unknown), median(known)


def _equal_time(fn, rounds=5) -> tuple[float, float]:
    """Medians of 5 unknown vs 5 known-user attempts, retried a few times: noise on a shared
    machine can only make them differ, so one close round shows there is no systematic gap."""
    pairs = list(zip(["ghost1", "ghost2", "ghost3", "ghost4", "ghost5"],
                     ["admin", "supervisor", "leader", "unit_head", "handler"], strict=True))
    for _ in range(rounds):
        unknown, known = _medians(fn, pairs)
        if abs(unknown - known) < 0.5 * known:
            break
    return unknown, known


def test_unknown_username_costs_the_same_argon2_check(site):
    from duban_archive.security.users import verify_login

    users = site["users"]
    for name in ("admin", "supervisor", "leader", "unit_head", "handler"):
        assert users[name].password_hash  # loaded: no database read inside the timing
    verify_login(users, "warm-up", "x")  # the dummy hash is made on first use
    unknown, known = _equal_time(lambda name: verify_login(users, name, "wrong-password-1"))
    assert abs(unknown - known) < 0.5 * known, (unknown, known)


def test_unknown_username_answers_as_slowly_over_http(testapp):
    """The tester's measurement, end to end (with the cheap test argon2 the request's own work
    dominates; the test above is the one that tells the two paths apart)."""
    seq = iter(range(1, 250))  # a fresh address per attempt: no throttling in the way
    token(testapp, "warm-up", "x", status=401)
    unknown, known = _equal_time(
        lambda name: token(testapp, name, "wrong-password-1", client=f"10.7.0.{next(seq)}", status=401))
    assert abs(unknown - known) < 0.5 * known, (unknown, known)


def test_token_body_is_validated_field_by_field(testapp):
    res = testapp.post_json("/api/v1/auth/token", {"username": 7, "otp": "1"}, status=400)
    assert set(res.json["fields"]) == {"username", "password", "otp"}
    res = testapp.post("/api/v1/auth/token", "{not json", content_type="application/json", status=400)
    assert res.json["fields"] == {"_": "请求体不是有效的 JSON"}


def test_no_token_or_forged_token_is_401(testapp):
    assert testapp.get("/api/v1/me", status=401).json["error"] == "unauthorized"
    good = api(testapp, "handler").headers["Authorization"]
    forged = good[:-4] + ("0000" if not good.endswith("0000") else "1111")
    testapp.get("/api/v1/me", headers={"Authorization": forged}, status=401)


def test_password_change_revokes_issued_tokens(app, testapp):
    import transaction

    from duban_archive.content_types.site_access import open_site

    client = api(testapp, "handler")
    client.get("/api/v1/me")
    with open_site(app.registry) as site:
        site["users"]["handler"].set_password("a-new-password")
        transaction.commit()
    client.get("/api/v1/me", status=401)


def test_units_and_boards(testapp):
    client = api(testapp, "handler2")
    units = {u["id"]: u for u in client.get("/api/v1/units").json}
    assert units["zjj"]["title"] == "市住建局" and units["jtj"]["title"] == "市交通运输局"
    assert set(units["zjj"]) >= {"id", "title", "parent"}
    boards = {b["id"]: b for b in client.get("/api/v1/boards").json}
    assert len(boards) == 9
    assert {k: boards["zdgz"][k] for k in ("title", "workflow", "item_type")} == {
        "title": "重点工作任务", "workflow": "duban", "item_type": "supervision_item"}
    assert boards["hotline"]["workflow"] == "hotline" and boards["hotline"]["item_type"] == "hotline_ticket"


def test_cookie_session_calls_need_the_csrf_header(testapp, app):
    from duban_archive.content_types.site_access import open_site

    login(testapp, "supervisor")
    body = {"title": "x", "source": "s", "content": "c", "requirement": "r", "lead_unit": "zjj"}
    res = testapp.post_json("/api/v1/boards/zdgz/items", body, status=403)
    assert res.json["error"] == "csrf_failed"
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0
    token = testapp.get("/api/v1/me").json["csrf_token"]  # a browser client reads it once
    res = testapp.post_json("/api/v1/boards/zdgz/items", body, headers={"X-CSRF-Token": token}, status=201)
    assert res.json["number"].startswith("ZDGZ-")
    # bearer clients carry no ambient authority and need no CSRF token
    api(testapp, "supervisor").post("/api/v1/boards/zdgz/items", body, status=201)
