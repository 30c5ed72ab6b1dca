"""The token store and the login lock-out, on a real server process."""

from __future__ import annotations

import time

import pytest
from helpers import wait_until

from jwtlab.auth import (
    Limit,
    LoginLockout,
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
    assert store.expiretime("1", "j1") == exp
    assert 598 <= store.ttl("1", "j1") <= 600
    assert store.token_key("1", "j1") == "jwtlab:{member:1}:token:j1"  # one hash tag a member
    value = redis_client.get(store.token_key("1", "j1"))
    assert value == token_digest("header.payload.signature")
    # the bearer token itself is nowhere in Redis
    dump = [redis_client.dump(key) for key in redis_client.keys("*")]
    assert not any(b"header.payload.signature" in blob for blob in dump)


def test_lookup_states(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    store.save("tok-1", claims_for("j1", exp=exp))
    assert store.lookup("tok-1", "1", "j1").state is State.LIVE
    assert store.lookup("tok-2", "1", "j1").state is State.MISMATCH
    assert store.lookup("tok-1", "1", "unknown").state is State.MISSING
    assert store.revoke("1", "j1", "logout")
    lookup = store.lookup("tok-1", "1", "j1")
    assert (lookup.state, lookup.why) == (State.REVOKED, "logout")
    assert store.expiretime("1", "j1") == exp  # revocation keeps the expiry (KEEPTTL)
    assert not store.revoke("1", "unknown")  # XX: no key is created for an unknown jti


def test_key_vanishes_by_redis_ttl(redis_client):
    store = TokenStore(redis_client)
    # 1-2 s left: enough for the LIVE lookup below even on a busy machine, short to wait out
    store.save("tok", claims_for("short", exp=int(time.time()) + 2))
    assert store.lookup("tok", "1", "short").state is State.LIVE
    wait_until(
        lambda: store.lookup("tok", "1", "short").state is State.MISSING, what="Redis expiry"
    )
    assert store.ttl("1", "short") == -2


def test_token_with_exp_in_the_past_is_not_kept(redis_client):
    store = TokenStore(redis_client)
    store.save("tok", claims_for("old", exp=int(time.time()) - 5))
    assert store.lookup("tok", "1", "old").state is State.MISSING


def test_user_index_and_family_expire_with_their_longest_token(redis_client):
    store = TokenStore(redis_client)
    now = int(time.time())
    store.save("a", claims_for("a", exp=now + 100))
    store.save("b", claims_for("b", exp=now + 900))
    store.save("c", claims_for("c", exp=now + 300))
    assert store.tokens_of("1") == ["a", "c", "b"]
    assert store.family_of("1", "f1") == {"a", "b", "c"}
    expiretime = redis_client.execute_command("EXPIRETIME", store.user_index_key("1"))
    assert expiretime == now + 900
    assert redis_client.execute_command("EXPIRETIME", store.family_key("1", "f1")) == now + 900


def test_revoke_family_and_late_arrivals(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    store.save("a", claims_for("a", exp=exp, fam="f1"))
    store.save("b", claims_for("b", exp=exp, fam="f1"))
    store.save("other", claims_for("other", exp=exp, fam="f2"))
    assert store.revoke_family("1", "f1", "refresh token reused") == 2
    assert store.lookup("a", "1", "a").why == "refresh token reused"
    assert store.lookup("other", "1", "other").live
    # a token issued into the family after the revocation is born revoked
    assert store.save("late", claims_for("late", exp=exp, fam="f1")).state is State.REVOKED
    assert store.lookup("late", "1", "late").state is State.REVOKED


def test_revoke_user_touches_only_that_user(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    for jti in "abc":
        store.save(jti, claims_for(jti, exp=exp, fam=f"fam-{jti}"))
    store.save("bob", claims_for("bob", exp=exp, sub="2", fam="fam-bob"))
    assert store.revoke_user("1") == 3
    assert all(store.lookup(j, "1", j).state is State.REVOKED for j in "abc")
    assert store.lookup("bob", "2", "bob").live


def test_claim_refresh_is_single_use(redis_client):
    store = TokenStore(redis_client)
    store.save("r", claims_for("r", exp=int(time.time()) + 600))
    assert store.claim_refresh("r", "1", "r").state is State.LIVE
    assert store.claim_refresh("r", "1", "r").state is State.USED
    assert store.claim_refresh("forged", "1", "r").state is State.USED
    assert store.claim_refresh("r", "1", "nope").state is State.MISSING


def test_works_with_a_bytes_client(redis_server):
    client = redis_server.client(decode_responses=False)
    client.flushall()
    store = TokenStore(client)
    store.save("t", claims_for("t", exp=int(time.time()) + 60))
    assert store.lookup("t", "1", "t").live
    assert store.tokens_of("1") == ["t"]


# -- login lock-out ----------------------------------------------------------------------------


def fail(lockout, name_key, client):
    """One wrong password: the attempt is counted (and stays counted)."""
    decision = lockout.attempt(name_key=name_key, client=client)
    assert decision.allowed, decision.message
    return decision


def test_locks_a_name_after_the_limit_and_says_how_long(redis_client):
    clock = ManualClock(1_767_225_600)  # 2026-01-01T00:00:00Z: whole seconds, exact sums
    lockout = LoginLockout(
        redis_client, per_name=Limit(3, 300), per_client=Limit(100, 300), clock=clock
    )
    for _ in range(3):
        fail(lockout, "alice", "c1")
        clock.advance(10)
    decision = lockout.attempt(name_key="alice", client="c1")
    assert not decision.allowed
    assert decision.scope == "name"
    assert decision.retry_after == pytest.approx(300 - 30)
    assert "try again in 4 min 30 s" in decision.message
    # a refused attempt is not counted: the log still holds three
    assert redis_client.zcard(lockout.name_log_key("alice")) == 3
    # another name from the same client is fine
    assert lockout.attempt(name_key="bob", client="c1").allowed
    # sliding window: the first attempt leaves at t=300, the lock lifts
    clock.advance(270)
    assert lockout.attempt(name_key="alice", client="c1").allowed


def test_locks_a_client_that_tries_many_names(redis_client):
    lockout = LoginLockout(redis_client, per_name=Limit(5, 60), per_client=Limit(4, 60))
    for index in range(4):
        fail(lockout, f"user{index}", "10.0.0.9")
    decision = lockout.attempt(name_key="fresh", client="10.0.0.9")
    assert (decision.allowed, decision.scope) == (False, "client")
    assert "this client" in decision.message
    # nothing was counted against "fresh" by the refused attempt
    assert redis_client.exists(lockout.name_log_key("fresh")) == 0
    assert lockout.attempt(name_key="fresh", client="10.0.0.10").allowed


def test_success_clears_the_name_and_takes_the_attempt_off_the_client(redis_client):
    lockout = LoginLockout(redis_client, per_name=Limit(3, 60), per_client=Limit(3, 60))
    fail(lockout, "alice", "c")
    right = fail(lockout, "alice", "c")
    lockout.succeeded(right, name_key="alice", client="c")
    assert redis_client.exists(lockout.name_log_key("alice")) == 0
    assert redis_client.zcard(lockout.client_log_key("c")) == 1  # the wrong one stays
    fail(lockout, "zed", "c")
    fail(lockout, "zed", "c")
    assert not lockout.attempt(name_key="zed", client="c").allowed
    lockout.reset(client="c")
    assert lockout.attempt(name_key="zed", client="c").allowed


def test_check_and_count_is_one_step_under_parallel_attempts(redis_client):
    """Fifty threads at once, limit 5: exactly five attempts go ahead."""
    from concurrent.futures import ThreadPoolExecutor

    lockout = LoginLockout(redis_client, per_name=Limit(5, 60), per_client=Limit(100, 60))
    with ThreadPoolExecutor(max_workers=25) as pool:
        decisions = list(
            pool.map(lambda _: lockout.attempt(name_key="alice", client="c"), range(50))
        )
    assert sum(decision.allowed for decision in decisions) == 5


def test_attempt_logs_expire_in_redis(redis_client):
    lockout = LoginLockout(redis_client, per_name=Limit(5, 60))
    fail(lockout, "alice", "c")
    assert 0 < redis_client.ttl(lockout.name_log_key("alice")) <= 60


def test_lockout_keys_share_one_hash_tag(redis_client):
    lockout = LoginLockout(redis_client, prefix="jwtlab:app-1")
    assert lockout.name_log_key("alice") == "jwtlab:app-1:{lockout}:name:alice"
    assert lockout.client_log_key("10.0.0.1") == "jwtlab:app-1:{lockout}:client:10.0.0.1"


def test_lookup_during_runs_the_work_while_the_get_travels(redis_client):
    store = TokenStore(redis_client)
    store.save("tok", claims_for("j", exp=int(time.time()) + 60))
    result, lookup = store.lookup_during("tok", "1", "j", lambda: "verified")
    assert (result, lookup.state) == ("verified", State.LIVE)


def test_lookup_during_keeps_the_connection_in_step_when_the_work_fails(redis_client):
    store = TokenStore(redis_client)
    redis_client.set("probe", "42")

    def failing():
        raise ValueError("bad signature")

    for _ in range(3):
        with pytest.raises(ValueError):
            store.lookup_during("tok", "1", "j", failing)
    # had the GET's reply been left unread, these would read a stale answer
    assert redis_client.get("probe") == "42"
    assert redis_client.ping() is True


def test_lookup_during_with_a_single_connection_client(redis_server):
    client = redis_server.client(single_connection_client=True)
    store = TokenStore(client)
    store.save("tok", claims_for("j", exp=int(time.time()) + 60))
    assert store.lookup_during("tok", "1", "j", lambda: 1)[1].live
    client.close()


def test_revoke_other_sessions_keeps_one_family_and_earlier_reasons(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    for jti, fam in [("old-a", "f-old"), ("old-b", "f-old"), ("new-a", "f-new"), ("x", "f-x")]:
        store.save(f"tok-{jti}", claims_for(jti, exp=exp, fam=fam))
    store.save("tok-bob", claims_for("bob", exp=exp, sub="2", fam="f-bob"))
    store.revoke("1", "x", "stolen laptop")
    redis_client.set(store.token_key("1", "old-b"), "used", keepttl=True)  # a spent refresh token
    assert store.revoke_other_sessions("1", keep_family="f-new", why="replaced") == 1
    assert store.lookup("tok-old-a", "1", "old-a") == Lookup(State.REVOKED, "replaced")
    assert store.lookup("tok-old-b", "1", "old-b").state is State.USED
    assert store.lookup("tok-x", "1", "x") == Lookup(State.REVOKED, "stolen laptop")
    assert store.lookup("tok-new-a", "1", "new-a").live
    assert store.lookup("tok-bob", "2", "bob").live  # another member
    assert store.expiretime("1", "old-a") == exp  # the revoked key keeps its expiry
    assert store.revoke_other_sessions("1", keep_family="f-new", why="replaced") == 0


# -- Redis Cluster: every script's keys in one hash slot ------------------------------------------


def test_every_script_names_keys_of_one_hash_slot(redis_client, tmp_path):
    """Each EVALSHA of a whole login life (sign-up to log out everywhere, one session per
    member, the lock-out) names keys that all hash to one cluster slot, as a RedisCluster
    client requires."""
    from helpers import make_service
    from redis.crc import key_slot

    from jwtlab.auth import Reason

    calls = []
    real_evalsha = redis_client.evalsha

    def recording_evalsha(sha, numkeys, *keys_and_args):
        calls.append(keys_and_args[: int(numkeys)])
        return real_evalsha(sha, numkeys, *keys_and_args)

    redis_client.evalsha = recording_evalsha
    service = make_service(redis_client, tmp_path / "u.sqlite3", single_session=True)
    service.sign_up("alice", "correct horse")
    assert (
        service.log_in("alice", "wrong horse", client="10.0.0.1").reason is Reason.BAD_CREDENTIALS
    )
    login = service.log_in("alice", "correct horse", client="10.0.0.1")
    service.open_room(login.access_token, "general")
    rotated = service.refresh(login.refresh_token)
    assert service.refresh(login.refresh_token).reason is Reason.REUSED
    again = service.log_in("alice", "correct horse", client="10.0.0.1")
    service.log_out(again.access_token)
    third = service.log_in("alice", "correct horse")
    service.log_out_everywhere(third.access_token)
    assert rotated.ok and len(calls) >= 12
    for keys in calls:
        slots = {key_slot(key.encode()) for key in keys}
        assert len(slots) == 1, f"a script named keys of several slots: {keys}"


def test_a_revocation_read_that_went_stale_is_refused_and_read_again(redis_client):
    store = TokenStore(redis_client)
    exp = int(time.time()) + 600
    store.save("a", claims_for("a", exp=exp))
    index = store.user_index_key("1")
    # the script was told the index had 1 member; a login added a second meanwhile
    store.save("b", claims_for("b", exp=exp, fam="f2"))
    stale = store._revoke_listed(keys=[index, store.token_key("1", "a")], args=["why", 1])
    assert stale == -1 and store.lookup("a", "1", "a").live  # nothing changed
    # the method reads again and revokes both
    assert store.revoke_user("1") == 2
