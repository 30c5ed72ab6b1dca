"""jwtlab.ratelimit against real servers, on every engine found: each limiter on a single
server and on a Redis Cluster (the session's, conftest.py: `clusters`)."""

from __future__ import annotations

import threading

import pytest

from jwtlab import ratelimit, servers
from jwtlab.clock import ManualClock


@pytest.fixture(params=["server", "cluster"])
def client(request, engine, clusters):
    """A fresh server of ``engine``, or ``engine``'s cluster emptied. On a cluster each
    limiter still works: every script and every MULTI/EXEC touches one key, so one slot."""
    if request.param == "cluster":
        client = clusters(engine).client()
        client.flushall()
        yield client
        client.close()
        return
    with servers.start(engine=engine, save="") as srv:
        yield srv.client()


def _allowed(decisions):
    return [d.allowed for d in decisions]


# ------------------------------------------------------- sliding log: peek and record


def test_sliding_log_peek_logs_nothing_and_record_logs_always(client):
    limiter = ratelimit.SlidingWindowLog(client, limit=2, window=60)
    for _ in range(5):
        assert limiter.peek("bob", now=100).allowed
    assert client.zcard(limiter.key("bob")) == 0
    for t in (100, 110, 120):  # record ignores the limit: three failures are three
        limiter.record("bob", now=t)
    assert client.zcard(limiter.key("bob")) == 3
    assert 0 < client.pttl(limiter.key("bob")) <= 60_000
    refused = limiter.peek("bob", now=125)
    assert (refused.allowed, refused.remaining) == (False, 0)
    assert refused.retry_after == pytest.approx(100 + 60 - 125)
    later = limiter.peek("bob", now=170.5)  # 100 and 110 have left the window
    assert (later.allowed, later.remaining, later.retry_after) == (True, 1, 0.0)
    assert client.zcard(limiter.key("bob")) == 1  # and the peek dropped them from the log


# ---------------------------------------------------------------------- fixed window


def test_fixed_window_counts_per_window_and_says_when_to_retry(client):
    limiter = ratelimit.FixedWindow(client, limit=3, window=10)
    decisions = ratelimit.replay(limiter, [0, 1, 2, 3, 10])
    assert _allowed(decisions) == [True, True, True, False, True]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 2]
    assert decisions[3].retry_after == pytest.approx(7)


def test_fixed_window_key_always_has_an_expiry(client):
    limiter = ratelimit.FixedWindow(client, limit=3, window=10)
    for _ in range(5):
        limiter.hit("alice", now=1)
    key = limiter.window_key("alice", 1)
    assert client.get(key) == "5"
    assert 0 < client.ttl(key) <= 10
    assert limiter.window_key("alice", 9.99) == key != limiter.window_key("alice", 10)


def test_fixed_window_allows_a_double_burst_at_the_edge(client):
    limiter = ratelimit.FixedWindow(client, limit=3, window=10)
    assert all(_allowed(ratelimit.replay(limiter, [9.7, 9.8, 9.9, 10.0, 10.1, 10.2])))


# ---------------------------------------------------------------------- sliding log


def test_sliding_log_counts_any_window(client):
    limiter = ratelimit.SlidingWindowLog(client, limit=3, window=10)
    decisions = ratelimit.replay(limiter, [0, 1, 2, 3, 10, 10.5, 11])
    assert _allowed(decisions) == [True, True, True, False, True, False, True]
    assert decisions[3].retry_after == pytest.approx(7)
    assert decisions[5].retry_after == pytest.approx(0.5)


def test_sliding_log_has_no_double_burst_and_does_not_log_rejections(client):
    limiter = ratelimit.SlidingWindowLog(client, limit=3, window=10)
    decisions = ratelimit.replay(limiter, [9.7, 9.8, 9.9, 10.0, 10.1, 10.2])
    assert _allowed(decisions) == [True, True, True, False, False, False]
    assert client.zcard(limiter.key("client")) == 3
    assert 0 < client.pttl(limiter.key("client")) <= 10_000


def _four_threads_hit_one_log(make_client) -> None:
    """Four threads, each with its own client, hit one log 10 times each: exactly the limit
    (10) passes and is logged, whatever the interleaving."""
    limiter = ratelimit.SlidingWindowLog(make_client(), limit=10, window=60)
    limiter.reset("shared")
    results: list[bool] = []

    def worker():
        own = ratelimit.SlidingWindowLog(make_client(), limit=10, window=60)
        results.extend(own.hit("shared", now=5.0).allowed for _ in range(10))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 10 and len(results) == 40
    assert limiter.redis.zcard(limiter.key("shared")) == 10


def test_sliding_log_is_atomic_under_concurrent_clients(engine):
    with servers.start(engine=engine, save="") as srv:
        _four_threads_hit_one_log(srv.client)


def test_sliding_log_is_atomic_on_a_cluster(redis_cluster):
    _four_threads_hit_one_log(redis_cluster.client)


# ---------------------------------------------------------------------- token bucket


def test_token_bucket_bursts_then_refills(client):
    limiter = ratelimit.TokenBucket(client, capacity=3, rate=1)
    decisions = ratelimit.replay(limiter, [0, 0, 0, 0, 0.5, 1.0, 1.0, 5.0])
    assert _allowed(decisions) == [True, True, True, False, False, True, False, True]
    assert decisions[3].retry_after == pytest.approx(1.0)
    assert decisions[4].retry_after == pytest.approx(0.5)
    assert decisions[-1].remaining == 2  # refilled to the capacity (3), not beyond, minus 1
    state = client.hgetall(limiter.key("client"))
    assert float(state["tokens"]) == pytest.approx(2) and float(state["ts"]) == 5
    assert 0 < client.pttl(limiter.key("client")) <= 4000


def test_token_bucket_earns_nothing_when_time_runs_back(client):
    limiter = ratelimit.TokenBucket(client, capacity=2, rate=1)
    ratelimit.replay(limiter, [100, 100])
    assert not limiter.hit("client", now=50).allowed


def test_token_bucket_cost(client):
    limiter = ratelimit.TokenBucket(client, capacity=5, rate=1)
    assert limiter.hit("client", now=0, cost=4).allowed
    assert not limiter.hit("client", now=0, cost=2).allowed


# ---------------------------------------------------------------------- shared


def test_the_clock_is_used_when_now_is_not_given(client):
    clock = ManualClock(1_767_225_600)
    limiter = ratelimit.SlidingWindowLog(client, limit=1, window=60, clock=clock)
    assert limiter.hit("bob").allowed
    assert not limiter.hit("bob").allowed
    clock.advance(60)
    assert limiter.hit("bob").allowed


def test_reset_forgets_one_identity_only(client):
    for limiter in (
        ratelimit.FixedWindow(client, limit=1, window=10),
        ratelimit.SlidingWindowLog(client, limit=1, window=10),
        ratelimit.TokenBucket(client, capacity=1, rate=0.1),
    ):
        for identity in ("a", "ab"):
            limiter.hit(identity, now=1)
        limiter.reset("a")
        assert limiter.hit("a", now=1).allowed
        assert not limiter.hit("ab", now=1).allowed


def test_reset_forgets_every_window_wherever_its_key_lives(client):
    # one counter key per window: on a cluster they hash to different slots and nodes
    limiter = ratelimit.FixedWindow(client, limit=1, window=10)
    for now in range(0, 200, 10):
        limiter.hit("carol", now=now)
    keys = set(client.scan_iter(match=limiter.key("carol") + ":*"))
    assert len(keys) == 20
    limiter.reset("carol")
    assert list(client.scan_iter(match=limiter.key("carol") + "*")) == []


def test_bad_settings_are_refused_with_a_reason(client):
    with pytest.raises(ValueError, match="limit >= 1"):
        ratelimit.FixedWindow(client, limit=0, window=10)
    with pytest.raises(ValueError, match="rate > 0"):
        ratelimit.TokenBucket(client, capacity=1, rate=0)


def test_the_bursty_schedule_replays_the_same_on_every_run(client):
    schedule = ratelimit.bursty_schedule()
    assert len(schedule) == 125 and schedule == sorted(schedule)
    counts = []
    for attempt in range(2):
        limiters = [
            ratelimit.FixedWindow(client, limit=10, window=10, prefix=f"r{attempt}:"),
            ratelimit.SlidingWindowLog(client, limit=10, window=10, prefix=f"r{attempt}:"),
            ratelimit.TokenBucket(client, capacity=10, rate=1, prefix=f"r{attempt}:"),
        ]
        counts.append([sum(_allowed(ratelimit.replay(lim, schedule))) for lim in limiters])
    assert counts[0] == counts[1]
