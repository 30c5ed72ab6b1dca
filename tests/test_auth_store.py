"""The token store and the login rate limiter, on a real server process."""

from __future__ import annotations

import time

import pytest
from helpers import wait_until

from jwtlab.auth import (
    Limit,
    LoginRateLimiter,
    Lookup,
    ManualClock,
    State,
    TokenStore,
    token_digest,
)


def claims_for(jti, *, exp, sub="1", fam="f1"):
    return {"jti": jti, "sub": sub, "exp": exp, "fam": fam}


# -- token store --------------------------------------------------------------------------


def test_key_expires_exactly_at_exp_and_holds_a_digest(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    store.save("header.payload.signature", claims_for("j1", exp=exp))
    assert store.expiretime("j1") == exp
    assert 598 <= store.ttl("j1") <= 600
    value = redis_client.get("jwtlab:token:j1")
    assert value == token_digest("header.payload.signature")
    # the bearer token itself is nowhere in Redis
    dump = [redis_client.dump(key) for key in redis_client.keys("*")]
    assert not any(b"header.payload.signature" in blob for blob in dump)


def test_lookup_states(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    store.save("tok-1", claims_for("j1", exp=exp))
    assert store.lookup("tok-1", "j1").state is State.LIVE
    assert store.lookup("tok-2", "j1").state is State.MISMATCH
    assert store.lookup("tok-1", "unknown").state is State.MISSING
    assert store.revoke("j1", "logout")
    lookup = store.lookup("tok-1", "j1")
    assert (lookup.state, lookup.why) == (State.REVOKED, "logout")
    assert store.expiretime("j1") == exp  # revocation keeps the expiry (KEEPTTL)
    assert not store.revoke("unknown")  # XX: no key is created for an unknown jti


def test_key_vanishes_by_redis_ttl(redis_client):
    store = TokenStore(redis_client)
    # 1-2 s left: enough for the LIVE lookup below even on a busy machine, short to wait out
    store.save("tok", claims_for("short", exp=int(time.time()) + 2))
    assert store.lookup("tok", "short").state is State.LIVE
    wait_until(lambda: store.lookup("tok", "short").state is State.MISSING, what="Redis expiry")
    assert store.ttl("short") == -2


def test_token_with_exp_in_the_past_is_not_kept(redis_client):
    store = TokenStore(redis_client)
    store.save("tok", claims_for("old", exp=int(time.time()) - 5))
    assert store.lookup("tok", "old").state is State.MISSING


def test_user_index_and_family_expire_with_their_longest_token(redis_client):
    store = TokenStore(redis_client)
    now = int(time.time())
    store.save("a", claims_for("a", exp=now + 100))
    store.save("b", claims_for("b", exp=now + 900))
    store.save("c", claims_for("c", exp=now + 300))
    assert store.tokens_of("1") == ["a", "c", "b"]
    assert store.family_of("f1") == {"a", "b", "c"}
    expiretime = redis_client.execute_command("EXPIRETIME", store.user_index_key("1"))
    assert expiretime == now + 900
    assert redis_client.execute_command("EXPIRETIME", store.family_key("f1")) == now + 900


def test_revoke_family_and_late_arrivals(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    store.save("a", claims_for("a", exp=exp, fam="f1"))
    store.save("b", claims_for("b", exp=exp, fam="f1"))
    store.save("other", claims_for("other", exp=exp, fam="f2"))
    assert store.revoke_family("f1", "refresh token reused") == 2
    assert store.lookup("a", "a").why == "refresh token reused"
    assert store.lookup("other", "other").live
    # a token issued into the family after the revocation is born revoked
    assert store.save("late", claims_for("late", exp=exp, fam="f1")).state is State.REVOKED
    assert store.lookup("late", "late").state is State.REVOKED


def test_revoke_user_touches_only_that_user(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    for jti in "abc":
        store.save(jti, claims_for(jti, exp=exp, fam=f"fam-{jti}"))
    store.save("bob", claims_for("bob", exp=exp, sub="2", fam="fam-bob"))
    assert store.revoke_user("1") == 3
    assert all(store.lookup(j, j).state is State.REVOKED for j in "abc")
    assert store.lookup("bob", "bob").live


def test_claim_refresh_is_single_use(redis_client):
    store = TokenStore(redis_client)
    store.save("r", claims_for("r", exp=int(time.time()) + 600))
    assert store.claim_refresh("r", "r").state is State.LIVE
    assert store.claim_refresh("r", "r").state is State.USED
    assert store.claim_refresh("forged", "r").state is State.USED
    assert store.claim_refresh("r", "nope").state is State.MISSING


def test_works_with_a_bytes_client(redis_server):
    client = redis_server.client(decode_responses=False)
    client.flushall()
    store = TokenStore(client)
    store.save("t", claims_for("t", exp=int(time.time()) + 60))
    assert store.lookup("t", "t").live
    assert store.tokens_of("1") == ["t"]


# -- login rate limiter ---------------------------------------------------------------------


def test_locks_a_name_after_the_limit_and_says_how_long(redis_client):
    clock = ManualClock(1_767_225_600)  # 2026-01-01T00:00:00Z: whole seconds, exact sums
    limiter = LoginRateLimiter(
        redis_client, per_name=Limit(3, 300), per_client=Limit(100, 300), clock=clock
    )
    for _ in range(3):
        assert limiter.check(name_key="alice", client="c1").allowed
        limiter.record_failure(name_key="alice", client="c1")
        clock.advance(10)
    decision = limiter.check(name_key="alice", client="c1")
    assert not decision.allowed
    assert decision.scope == "name"
    assert decision.retry_after == pytest.approx(300 - 30)
    assert decision.retry_after_seconds == 270
    assert "try again in 4 min 30 s" in decision.message
    # another name from the same client is fine
    assert limiter.check(name_key="bob", client="c1").allowed
    # sliding window: the first failure leaves at t=300, the lock lifts
    clock.advance(270)
    assert limiter.check(name_key="alice", client="c1").allowed


def test_locks_a_client_that_tries_many_names(redis_client):
    clock = ManualClock()
    limiter = LoginRateLimiter(
        redis_client, per_name=Limit(5, 60), per_client=Limit(4, 60), clock=clock
    )
    for index in range(4):
        limiter.record_failure(name_key=f"user{index}", client="10.0.0.9")
    decision = limiter.check(name_key="fresh", client="10.0.0.9")
    assert (decision.allowed, decision.scope) == (False, "client")
    assert "this client" in decision.message
    assert limiter.check(name_key="fresh", client="10.0.0.10").allowed


def test_success_clears_the_name_but_not_the_client(redis_client):
    limiter = LoginRateLimiter(redis_client, per_name=Limit(2, 60), per_client=Limit(3, 60))
    limiter.record_failure(name_key="alice", client="c")
    limiter.record_failure(name_key="alice", client="c")
    assert not limiter.check(name_key="alice", client=None).allowed
    limiter.record_success(name_key="alice")
    assert limiter.check(name_key="alice", client=None).allowed
    limiter.record_failure(name_key="alice", client="c")
    assert not limiter.check(name_key="zed", client="c").allowed
    limiter.reset(client="c")
    assert limiter.check(name_key="zed", client="c").allowed


def test_failure_logs_expire_in_redis(redis_client):
    limiter = LoginRateLimiter(redis_client, per_name=Limit(5, 60))
    limiter.record_failure(name_key="alice", client="c")
    assert 0 < redis_client.ttl(limiter.name_log_key("alice")) <= 60


def test_lookup_during_runs_the_work_while_the_get_travels(redis_client):
    store = TokenStore(redis_client)
    store.save("tok", claims_for("j", exp=int(time.time()) + 60))
    result, lookup = store.lookup_during("tok", "j", lambda: "verified")
    assert (result, lookup.state) == ("verified", State.LIVE)


def test_lookup_during_keeps_the_connection_in_step_when_the_work_fails(redis_client):
    store = TokenStore(redis_client)
    redis_client.set("probe", "42")

    def failing():
        raise ValueError("bad signature")

    for _ in range(3):
        with pytest.raises(ValueError):
            store.lookup_during("tok", "j", failing)
    # had the GET's reply been left unread, these would read a stale answer
    assert redis_client.get("probe") == "42"
    assert redis_client.ping() is True


def test_lookup_during_with_a_single_connection_client(redis_server):
    client = redis_server.client(single_connection_client=True)
    store = TokenStore(client)
    store.save("tok", claims_for("j", exp=int(time.time()) + 60))
    assert store.lookup_during("tok", "j", lambda: 1)[1].live
    client.close()


def test_revoke_other_sessions_keeps_one_family_and_earlier_reasons(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    for jti, fam in [("old-a", "f-old"), ("old-b", "f-old"), ("new-a", "f-new"), ("x", "f-x")]:
        store.save(f"tok-{jti}", claims_for(jti, exp=exp, fam=fam))
    store.save("tok-bob", claims_for("bob", exp=exp, sub="2", fam="f-bob"))
    store.revoke("x", "stolen laptop")
    redis_client.set(store.token_key("old-b"), "used", keepttl=True)  # a spent refresh token
    assert store.revoke_other_sessions("1", keep_family="f-new", why="replaced") == 1
    assert store.lookup("tok-old-a", "old-a") == Lookup(State.REVOKED, "replaced")
    assert store.lookup("tok-old-b", "old-b").state is State.USED
    assert store.lookup("tok-x", "x") == Lookup(State.REVOKED, "stolen laptop")
    assert store.lookup("tok-new-a", "new-a").live
    assert store.lookup("tok-bob", "bob").live  # another member
    assert store.expiretime("old-a") == exp  # the revoked key keeps its expiry
    assert store.revoke_other_sessions("1", keep_family="f-new", why="replaced") == 0
