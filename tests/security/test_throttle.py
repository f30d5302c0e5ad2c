"""security.throttle: progressive delays per account+client, per client and (softly) per account."""

from __future__ import annotations

import pytest

from duban_archive.security import throttle


@pytest.fixture
def clock(fake_clock):
    return fake_clock


def fail(account, client, times=1):
    for _ in range(times):
        throttle.failed(account, client)


def test_three_free_failures_then_doubling_delays_capped_at_five_minutes(clock):
    waits = []
    for _ in range(14):
        throttle.failed("leader", "10.0.0.1")
        waits.append(throttle.retry_after("leader", "10.0.0.1"))
        clock.advance(waits[-1])  # the attacker waits out every delay
    assert waits == [0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300]
    assert throttle.retry_after("leader", "10.0.0.1") == 0  # the wait has passed: one more try


def test_the_wait_runs_from_the_latest_failure_and_refusals_do_not_extend_it(clock):
    fail("leader", "10.0.0.1", 4)
    assert throttle.retry_after("leader", "10.0.0.1") == 4
    for _ in range(50):  # hammering while refused: nothing is counted
        throttle.retry_after("leader", "10.0.0.1")
    clock.advance(3)
    assert throttle.retry_after("leader", "10.0.0.1") == 1
    clock.advance(1)
    assert throttle.retry_after("leader", "10.0.0.1") == 0


def test_success_clears_the_account_but_not_the_client_budget(clock):
    fail("leader", "10.0.0.1", 3)
    fail("x1", "10.0.0.1", 6)
    throttle.succeeded("leader", "10.0.0.1")
    assert throttle.retry_after("leader", "10.0.0.1") == 0
    fail("x2", "10.0.0.1", 1)  # the client's 10th failure
    assert throttle.retry_after("anyone", "10.0.0.1") == 2


def test_spraying_usernames_is_limited_per_client(clock):
    for i in range(10):
        assert throttle.retry_after(f"user{i}", "203.0.113.5") == 0
        throttle.failed(f"user{i}", "203.0.113.5")
    assert throttle.retry_after("user99", "203.0.113.5") == 2  # any username from that address
    assert throttle.retry_after("user99", "203.0.113.6") == 0  # other addresses are not affected
    sprayed = 10
    for i in range(10, 2000):  # an hour of spraying, as fast as the delays allow
        wait = throttle.retry_after(f"user{i}", "203.0.113.5")
        clock.advance(wait)
        if clock.now > 1000 + 3600:
            break
        throttle.failed(f"user{i}", "203.0.113.5")
        sprayed += 1
    assert sprayed < 60  # instead of ~137 a second


def test_the_account_soft_limit_slows_but_never_locks_and_spares_known_addresses(clock):
    throttle.succeeded("supervisor", "192.0.2.1")  # the owner logged in from here before
    for i in range(200):  # one failure each from many addresses
        throttle.failed("supervisor", f"198.51.100.{i % 250}")
    assert throttle.retry_after("supervisor", "192.0.2.1") == 0  # the owner's address: no delay
    wait = throttle.retry_after("supervisor", "192.0.2.77")  # a new address: a soft delay
    assert 0 < wait <= throttle.ACCOUNT.cap == 30
    clock.advance(wait)
    assert throttle.retry_after("supervisor", "192.0.2.77") == 0


def test_meters_forget_quietly(clock):
    fail("leader", "10.0.0.1", 8)
    assert throttle.retry_after("leader", "10.0.0.1") == 64
    clock.advance(5 * throttle.PAIR.forget)  # five failures forgiven; 3 left = the first delay
    assert throttle.retry_after("leader", "10.0.0.1") == 0
    throttle.failed("leader", "10.0.0.1")
    assert throttle.retry_after("leader", "10.0.0.1") == 4
    clock.advance(24 * 3600)
    assert throttle.retry_after("leader", "10.0.0.1") == 0
    assert not throttle._pairs.meters and not throttle._clients.meters  # fully leaked: dropped


def test_ipv6_clients_count_per_64_and_accounts_ignore_case(clock):
    same_64 = throttle.client_key("2001:db8:1:2:aaaa::1"), throttle.client_key("2001:db8:1:2:bbbb::9")
    assert same_64 == ("2001:db8:1:2::/64", "2001:db8:1:2::/64")
    assert throttle.client_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert throttle.client_key("") == "-"
    fail(" Leader ", "2001:db8:1:2::1", 3)
    assert throttle.retry_after("leader", "2001:db8:1:2:ffff::2") == 2


def test_tables_are_bounded(clock, monkeypatch):
    monkeypatch.setattr(throttle, "MAX_KEYS", 50)
    for i in range(500):
        throttle.failed(f"user{i}", f"10.1.{i // 250}.{i % 250}")
    assert len(throttle._pairs.meters) <= 50 and len(throttle._accounts.meters) <= 50
    assert len(throttle._clients.meters) <= 50
