"""Our own logic on fakeredis, and the very same tests on real servers.

What is tested here is jwtlab's arithmetic and bookkeeping — the rate limiters' counts and
waits (`jwtlab.ratelimit`), the token store's states, expiries and indexes
(`jwtlab.auth.tokens`) — not Redis's behaviour. For that, fakeredis (an in-process
imitation of Redis) is enough and fast: `make unit` runs the ``fakeredis`` cases. Every
test also runs on each real engine (marked ``server``; `make servers`, `make test`), and
`test_fakeredis_and_real_servers_leave_the_same_state` replays one schedule on both and
compares every decision and every stored value, so the two cannot drift apart unnoticed.
What fakeredis does *not* imitate (expiry events, persistence, replication, ...) is
tested on real servers only, elsewhere, and measured in notebook 15.
"""

from __future__ import annotations

import fakeredis
import pytest
from helpers import ENGINES

from jwtlab import ratelimit, servers
from jwtlab.auth.tokens import Lookup, State, TokenStore

#: A fixed instant (2026-01-01T00:00:00Z) far enough ahead that no key expires mid-test.
EXP = 1_830_297_600

BACKENDS = [pytest.param("fakeredis", id="fakeredis")] + [
    pytest.param(engine, id=str(engine).replace(" ", "-"), marks=pytest.mark.server)
    for engine in ENGINES
]


@pytest.fixture(scope="module")
def real_servers():
    """One server per engine for this module, started on first use."""
    started: dict[str, servers.Server] = {}
    yield started
    for server in started.values():
        server.close()


@pytest.fixture(params=BACKENDS)
def client(request, real_servers):
    """An empty Redis: fakeredis, or a real server of each engine."""
    if request.param == "fakeredis":
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    else:
        engine = request.param
        if str(engine) not in real_servers:
            real_servers[str(engine)] = servers.start(engine=engine, save="", appendonly="no")
        client = real_servers[str(engine)].client()
        client.flushall()
    yield client
    client.close()


def _replayed(limiter, times):
    return [(d.allowed, d.remaining, d.retry_after) for d in ratelimit.replay(limiter, times)]


# ------------------------------------------------------------------ rate-limit arithmetic


def test_fixed_window_counts_and_waits(client):
    limiter = ratelimit.FixedWindow(client, limit=3, window=10)
    assert _replayed(limiter, [0, 1, 2, 3, 9.5, 10]) == [
        (True, 2, 0),
        (True, 1, 0),
        (True, 0, 0),
        (False, 0, 7),  # the window [0, 10) ends in 7 s
        (False, 0, 0.5),
        (True, 2, 0),  # a new window, a new counter
    ]
    assert client.get(limiter.window_key("client", 0)) == "5"  # rejections are counted too


def test_sliding_log_waits_for_the_oldest_entry_and_logs_no_rejection(client):
    limiter = ratelimit.SlidingWindowLog(client, limit=3, window=10)
    decisions = _replayed(limiter, [0, 1, 2, 3, 10, 10.5, 11])
    assert decisions == [
        (True, 2, 0),
        (True, 1, 0),
        (True, 0, 0),
        (False, 0, 7),  # the entry at 0 leaves the window at 10
        (True, 0, 0),  # 0 has left
        (False, 0, 0.5),  # 1 leaves at 11
        (True, 0, 0),
    ]
    log = client.zrange(limiter.key("client"), 0, -1, withscores=True)
    assert [score for _member, score in log] == [2, 10, 11]


def test_token_bucket_refills_at_its_rate_up_to_its_capacity(client):
    limiter = ratelimit.TokenBucket(client, capacity=3, rate=2)
    decisions = _replayed(limiter, [0, 0, 0, 0, 0.25, 0.5, 100])
    assert [allowed for allowed, _, _ in decisions] == [True, True, True, False, False, True, True]
    assert decisions[3][2] == pytest.approx(0.5)  # one token at 2 a second
    assert decisions[4][2] == pytest.approx(0.25)  # half a token earned, half to go
    assert decisions[-1][1] == 2  # refilled to 3 (not 200), minus this request
    state = client.hgetall(limiter.key("client"))
    assert float(state["tokens"]) == 2 and float(state["ts"]) == 100


def test_token_bucket_cost_and_a_clock_that_runs_back(client):
    limiter = ratelimit.TokenBucket(client, capacity=5, rate=1)
    assert limiter.hit("c", now=10, cost=4).allowed
    refused = limiter.hit("c", now=10, cost=2)
    assert not refused.allowed and refused.retry_after == pytest.approx(1)
    assert not limiter.hit("c", now=5, cost=2).allowed  # earlier than ts: earns nothing


def test_the_bursty_schedule_gives_the_same_counts_everywhere(client):
    schedule = ratelimit.bursty_schedule()
    limiters = [
        ratelimit.FixedWindow(client, limit=10, window=10),
        ratelimit.SlidingWindowLog(client, limit=10, window=10),
        ratelimit.TokenBucket(client, capacity=10, rate=1),
    ]
    allowed = [sum(d.allowed for d in ratelimit.replay(lim, schedule)) for lim in limiters]
    assert allowed == [50, 45, 57]  # the counts notebook 04 shows for the same schedule


def test_reset_forgets_one_identity_and_no_other(client):
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


# ------------------------------------------------------------- token-store bookkeeping


def _claims(jti, *, sub="1", fam="f1", exp=EXP):
    return {"jti": jti, "sub": sub, "fam": fam, "exp": exp}


def test_save_keeps_a_digest_until_exp_and_indexes_it(client):
    store = TokenStore(client)
    assert store.save("token-a", _claims("a", exp=EXP)).live
    assert store.save("token-b", _claims("b", exp=EXP + 600)).live
    assert client.get(store.key_of(_claims("a"))) != "token-a"  # a digest, never the token
    assert store.expiretime("1", "a") == EXP and store.expiretime("1", "b") == EXP + 600
    assert client.zrange(store.user_index_key("1"), 0, -1, withscores=True) == [
        ("a", EXP),
        ("b", EXP + 600),
    ]
    # the index and the family live as long as their longest-lived token
    assert client.expiretime(store.user_index_key("1")) == EXP + 600
    assert client.expiretime(store.family_key("1", "f1")) == EXP + 600
    assert store.family_of("1", "f1") == {"a", "b"}


def test_lookup_tells_live_missing_mismatch_revoked_and_used_apart(client):
    store = TokenStore(client)
    store.save("token-a", _claims("a"))
    assert store.lookup("token-a", "1", "a") == Lookup(State.LIVE)
    assert store.lookup("token-a", "1", "nope").state is State.MISSING
    assert store.lookup("forged", "1", "a").state is State.MISMATCH
    assert store.lookup_during("token-a", "1", "a", lambda: "verified") == (
        "verified",
        Lookup(State.LIVE),
    )
    assert store.claim_refresh("token-a", "1", "a").live  # this call won the exchange
    assert store.claim_refresh("token-a", "1", "a").state is State.USED  # a replay
    assert store.expiretime("1", "a") == EXP  # KEEPTTL
    store.save("token-b", _claims("b"))
    assert store.revoke("1", "b", "stolen") and not store.revoke("1", "nope")
    assert store.lookup("token-b", "1", "b") == Lookup(State.REVOKED, "stolen")
    assert store.expiretime("1", "b") == EXP


def test_revoking_a_family_blocks_its_tokens_and_late_arrivals(client):
    store = TokenStore(client)
    for jti in ("a", "r"):
        store.save(f"token-{jti}", _claims(jti, fam="f1"))
    store.save("token-other", _claims("o", fam="f2"))
    assert store.revoke_family("1", "f1", "logout") == 2
    # Only live tokens are revoked and counted now (they used to be re-marked, and counted,
    # as long as their key existed, so this was 2): a second revocation finds none live.
    assert store.revoke_family("1", "f1", "logout") == 0
    assert store.lookup("token-r", "1", "r") == Lookup(State.REVOKED, "logout")
    # dies with the family
    assert client.expiretime(store.family_revoked_key("1", "f1")) == EXP
    late = store.save("token-late", _claims("late", fam="f1"))
    assert late == Lookup(State.REVOKED, "logout")
    assert store.lookup("token-other", "1", "o").live


def test_revoke_user_and_other_sessions_count_what_they_changed(client):
    store = TokenStore(client)
    for jti, fam in [("a1", "fa"), ("a2", "fa"), ("b1", "fb"), ("c1", "fc")]:
        store.save(f"token-{jti}", _claims(jti, fam=fam))
    store.save("token-bob", _claims("bob", sub="2", fam="fbob"))
    assert store.revoke("1", "c1", "lost phone")
    assert store.revoke_other_sessions("1", keep_family="fb", why="replaced") == 2
    assert store.lookup("token-c1", "1", "c1") == Lookup(State.REVOKED, "lost phone")
    assert store.lookup("token-b1", "1", "b1").live
    # revoke_user now revokes and counts live tokens only (it used to re-mark every token
    # still in Redis, 4 here): b1 alone was live; the others keep their first reason.
    assert store.revoke_user("1", "everywhere") == 1
    assert store.lookup("token-b1", "1", "b1") == Lookup(State.REVOKED, "everywhere")
    assert store.lookup("token-a1", "1", "a1") == Lookup(State.REVOKED, "replaced")
    assert store.lookup("token-c1", "1", "c1") == Lookup(State.REVOKED, "lost phone")
    assert store.lookup("token-bob", "2", "bob").live  # another member
    assert sorted(store.tokens_of("1")) == ["a1", "a2", "b1", "c1"]


# ------------------------------------------------------------ the two, side by side


def _everything(client) -> dict:
    """Every key with its type, value and expiry: the whole state, comparable.

    An expiry set with EXPIREAT (the token store's) is compared exactly; one set relative
    to now (the limiters' clean-up) as the milliseconds left, which depend on when the
    comparison runs: see `_same_expiry`.
    """
    read = {
        "string": client.get,
        "hash": client.hgetall,
        "zset": lambda key: client.zrange(key, 0, -1, withscores=True),
        "set": lambda key: sorted(client.smembers(key)),
    }
    state = {}
    for key in sorted(client.scan_iter()):
        kind = client.type(key)
        expires_at = client.pexpiretime(key)
        expiry = ("at", expires_at) if expires_at >= EXP * 1000 else ("in", client.pttl(key))
        state[key] = (kind, read[kind](key), expiry)
    return state


def _same_expiry(fake, real, slack_ms=3000):
    (fake_how, fake_ms), (real_how, real_ms) = fake, real
    if fake_how != real_how or fake_how == "at" or min(fake_ms, real_ms) < 0:
        return fake == real
    return abs(fake_ms - real_ms) <= slack_ms


@pytest.mark.server
@pytest.mark.parametrize("engine", ENGINES, ids=[str(e).replace(" ", "-") for e in ENGINES])
def test_fakeredis_and_real_servers_leave_the_same_state(engine):
    """One scripted session on both: the same decisions, the same keys, values and expiries
    (the sliding log's members are named, since their default names are random)."""

    def session(client):
        limiters = [
            ratelimit.FixedWindow(client, limit=5, window=10),
            ratelimit.TokenBucket(client, capacity=5, rate=0.5),
        ]
        sliding = ratelimit.SlidingWindowLog(client, limit=5, window=10)
        decisions = []
        for i, now in enumerate(ratelimit.bursty_schedule()):
            identity = f"id{i % 3}"
            decisions += [lim.hit(identity, now=now) for lim in limiters]
            decisions.append(sliding.hit(identity, now=now, member=f"request-{i}"))
        store = TokenStore(client)
        for n in range(12):
            store.save(f"token-{n}", _claims(f"j{n}", sub=str(n % 2), fam=f"f{n % 4}"))
        decisions += [
            store.claim_refresh("token-3", "1", "j3"),
            store.claim_refresh("token-3", "1", "j3"),
            store.revoke_family("1", "f1", "logout"),  # f1's tokens (n = 1, 5, 9) are sub 1's
            store.revoke_other_sessions("0", keep_family="f2", why="replaced"),
            store.revoke_user("1", "everywhere"),
            store.save("token-late", _claims("late", fam="f1")),
        ]
        return decisions, _everything(client)

    fake_decisions, fake_state = session(
        fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    )
    with servers.start(engine=engine, save="", appendonly="no") as server:
        real_decisions, real_state = session(server.client())
    assert fake_decisions == real_decisions
    assert fake_state.keys() == real_state.keys()
    for key, (kind, value, expiry) in real_state.items():
        fake_kind, fake_value, fake_expiry = fake_state[key]
        assert (fake_kind, fake_value) == (kind, value), f"{key}: fakeredis {fake_state[key]}"
        assert _same_expiry(fake_expiry, expiry), (
            f"{key}: fakeredis {fake_expiry}, {engine} {expiry}"
        )
