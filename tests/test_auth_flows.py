"""Flow 1 and flow 2, every branch, on a real SQLite file and a real Redis: each test runs on
a single server, then on a Redis Cluster of each engine (`topology` in conftest.py; one cluster
start per engine for the session). On a cluster every script's keys share one hash slot
(``{member:<sub>}``, ``{lockout}``) and the client routes each command to its node."""

from __future__ import annotations

import threading
import time

import pytest
from helpers import make_service, wait_until

import jwtlab
from jwtlab.auth import (
    FLOW_1,
    FLOW_2,
    AuthService,
    Lifetimes,
    Limit,
    ManualClock,
    Reason,
    fast_password_hasher,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def redis_client(topology_client):
    """Here, the single server's client or a cluster's (`RedisCluster`), emptied."""
    return topology_client


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def service(redis_client, tmp_path, clock):
    service = make_service(redis_client, tmp_path / "users.sqlite3", clock=clock)
    service.sign_up("alice", PASSWORD)
    service.sign_up("bob", PASSWORD)
    yield service
    service.users.close()


@pytest.fixture
def login(service):
    return service.log_in("alice", PASSWORD, client="10.0.0.1")


def forge(claims, key=b"k" * 32):
    return jwtlab.encode(claims, key, algorithm="HS256")


# -- flow 1 ----------------------------------------------------------------------------------


def test_flow1_lets_a_fresh_login_through(service, login):
    result = service.check_flow1(login.access_token)
    assert result.allowed and result.reason is Reason.OK
    assert result.claims["name"] == "alice"
    assert [o.step.number for o in result.trace] == [2, 3, 4]
    assert result.step is FLOW_1[3]
    assert result.redirect_to is None


def test_flow1_missing_token_redirects_keeping_next(service):
    for token in (None, "", "   "):
        result = service.check_flow1(token, next_url="/rooms/general")
        assert (result.allowed, result.reason) == (False, Reason.MISSING)
        assert result.step is FLOW_1[1]
        assert result.redirect_to == "/login?next=%2Frooms%2Fgeneral"
        assert result.trace[-1].step is FLOW_1[4]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "a.b.c.d",
        "!!!.???.###",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
        "x" * 5000,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.not base64!",
    ],
)
def test_flow1_malformed(service, token):
    result = service.check_flow1(token)
    assert (result.allowed, result.reason) == (False, Reason.MALFORMED), result.detail
    assert result.redirect_to


def test_flow1_deeply_nested_payload_is_refused_cleanly(service):
    nested = jwtlab.b64url_encode(b"[" * 1400 + b"]" * 1400)
    token = f"eyJhbGciOiJIUzI1NiJ9.{nested}.c2ln"
    result = service.check_flow1(token)
    assert not result.allowed and result.reason in (Reason.MALFORMED, Reason.BAD_SIGNATURE)


def test_flow1_bad_signature(service, login):
    header, payload, signature = login.access_token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert service.check_flow1(tampered).reason is Reason.BAD_SIGNATURE
    other_key = forge({**login.access_claims})
    assert service.check_flow1(other_key).reason is Reason.BAD_SIGNATURE
    # the signature is checked before the payload is even parsed
    not_json = "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"
    assert service.check_flow1(not_json).reason is Reason.BAD_SIGNATURE


def test_flow1_alg_none_is_refused(service, login):
    header = jwtlab.b64url_encode(b'{"alg":"none","typ":"JWT"}')
    payload = login.access_token.split(".")[1]
    result = service.check_flow1(f"{header}.{payload}.")
    assert not result.allowed
    assert result.reason in (Reason.BAD_ALGORITHM, Reason.MALFORMED)


def test_flow1_expired_by_the_clock(service, login, clock):
    clock.advance(service.lifetimes.access + 1)
    result = service.check_flow1(login.access_token)
    assert (result.allowed, result.reason) == (False, Reason.EXPIRED)
    assert result.step is FLOW_1[2]
    assert "expired" in result.detail


def test_flow1_not_in_redis_when_the_key_expired_in_redis(redis_client, tmp_path):
    # The clock stays at the moment of issue while Redis's own clock runs on: the JWT
    # still looks valid to us, but Redis has let the key go at exp (EXPIREAT). 3 s, not 1:
    # a busy machine must not let the key expire before its EXPIRETIME is read.
    clock = ManualClock()
    service = make_service(
        redis_client, tmp_path / "u.sqlite3", clock=clock, lifetimes=Lifetimes(access=3)
    )
    service.sign_up("alice", PASSWORD)
    login = service.log_in("alice", PASSWORD)
    assert service.tokens.expiretime("1", login.access_claims["jti"]) == login.access_claims["exp"]
    wait_until(
        lambda: service.check_flow1(login.access_token).reason is Reason.NOT_IN_REDIS,
        what="the token's key to expire in Redis",
    )
    assert redis_client.exists(service.tokens.key_of(login.access_claims)) == 0


def test_flow1_not_in_redis_when_redis_forgot(service, login, redis_client):
    redis_client.flushall()
    result = service.check_flow1(login.access_token)
    assert (result.reason, result.step) == (Reason.NOT_IN_REDIS, FLOW_1[3])


def test_flow1_revoked_on_logout(service, login):
    assert service.log_out(login.access_token) >= 2  # access and refresh
    result = service.check_flow1(login.access_token)
    assert (result.reason, result.step) == (Reason.REVOKED, FLOW_1[3])
    assert "logout" in result.detail


def test_flow1_mismatch_when_redis_holds_another_tokens_digest(service, login, redis_client):
    key = service.tokens.key_of(login.access_claims)
    redis_client.set(key, "0" * 64, keepttl=True)
    assert service.check_flow1(login.access_token).reason is Reason.MISMATCH


def test_wrong_issuer(service, login):
    token = jwtlab.encode({**login.access_claims, "iss": "someone-else"}, service.secret)
    assert service.check_flow1(token).reason is Reason.WRONG_ISSUER


def test_not_yet_valid(service, login):
    token = jwtlab.encode({**login.access_claims, "nbf": int(time.time()) + 3600}, service.secret)
    assert service.check_flow1(token).reason is Reason.NOT_YET_VALID


def test_missing_jti_is_malformed(service, login):
    claims = {k: v for k, v in login.access_claims.items() if k != "jti"}
    assert service.check_flow1(jwtlab.encode(claims, service.secret)).reason is Reason.MALFORMED


# -- flow 2 ----------------------------------------------------------------------------------


def test_flow2_sign_up_log_in_and_call(service):
    user = service.sign_up("carol", PASSWORD)  # step 1
    login = service.log_in("carol", PASSWORD)  # step 2, option A
    assert login.user == user
    result = service.check_flow2(login.access_token)  # steps 3 and 4
    assert result.allowed and result.step is FLOW_2[3]
    assert service.check_flow2(None).step is FLOW_2[2]


def test_flow2_refuses_a_refresh_token_as_access(service, login):
    result = service.check_flow2(login.refresh_token)
    assert (result.allowed, result.reason) == (False, Reason.WRONG_TYPE)


def test_flow2_stateless_mode_lets_a_revoked_token_through(redis_client, tmp_path):
    service = make_service(redis_client, tmp_path / "u.sqlite3", check_redis=False)
    service.sign_up("alice", PASSWORD)
    login = service.log_in("alice", PASSWORD)
    service.log_out(login.access_token)
    result = service.check_flow2(login.access_token)
    assert result.allowed  # this is what Redis is for
    assert "stateless" in result.trace[-1].note


# -- option B: room tokens ---------------------------------------------------------------------


def test_room_token_opens_its_room_only(service, login):
    opened = service.open_room(login.access_token, "general")
    assert opened.ok and opened.room_claims["aud"] == "jwtlab:room:general"
    assert service.check_flow2(opened.room_token, room="general").allowed
    other = service.check_flow2(opened.room_token, room="redis")
    assert (other.allowed, other.reason) == (False, Reason.WRONG_ROOM)
    assert "'general', not 'redis'" in other.detail
    # the access token is not a room token, and a room token is not an access token
    assert service.check_flow2(login.access_token, room="general").reason is Reason.WRONG_ROOM
    assert service.check_flow2(opened.room_token).reason is Reason.WRONG_TYPE


def test_room_token_needs_a_valid_access_token(service, login):
    service.log_out(login.access_token)
    opened = service.open_room(login.access_token, "general")
    assert not opened.ok and opened.check.reason is Reason.REVOKED
    assert not service.open_room(None, "general").ok


def test_room_token_expires_and_logout_closes_rooms(service, login, clock):
    opened = service.open_room(login.access_token, "general")
    service.log_out(login.access_token)
    assert service.check_flow2(opened.room_token, room="general").reason is Reason.REVOKED
    login2 = service.log_in("alice", PASSWORD)
    opened2 = service.open_room(login2.access_token, "general")
    clock.advance(service.lifetimes.room + 1)
    assert service.check_flow2(opened2.room_token, room="general").reason is Reason.EXPIRED


# -- logout everywhere, refresh --------------------------------------------------------------


def test_log_out_everywhere_revokes_every_device_but_not_others(service):
    laptop = service.log_in("alice", PASSWORD)
    phone = service.log_in("alice", PASSWORD)
    room = service.open_room(phone.access_token, "jwt")
    bob = service.log_in("bob", PASSWORD)
    assert service.log_out_everywhere(laptop.access_token) == 5
    for token in (laptop.access_token, phone.access_token):
        assert service.check_flow2(token).reason is Reason.REVOKED
    assert service.check_flow2(room.room_token, room="jwt").reason is Reason.REVOKED
    assert not service.refresh(phone.refresh_token).ok
    assert service.check_flow2(bob.access_token).allowed


def test_log_out_only_this_session(service):
    laptop = service.log_in("alice", PASSWORD)
    phone = service.log_in("alice", PASSWORD)
    service.log_out(laptop.access_token)
    assert service.check_flow2(laptop.access_token).reason is Reason.REVOKED
    assert service.check_flow2(phone.access_token).allowed


def test_log_out_with_garbage_or_foreign_tokens_does_nothing(service, login):
    assert service.log_out(None) == 0
    assert service.log_out("garbage") == 0
    assert service.log_out(forge(login.access_claims)) == 0  # not signed by us
    assert service.log_out_everywhere(forge(login.access_claims)) == 0
    assert service.check_flow2(login.access_token).allowed


def test_an_expired_token_cannot_log_out_but_the_live_refresh_token_can(service, login, clock):
    clock.advance(service.lifetimes.access + 60)
    assert service.check_flow2(login.access_token).reason is Reason.EXPIRED
    assert service.log_out(login.access_token) == 0
    assert service.log_out(login.refresh_token) >= 1
    assert service.refresh(login.refresh_token).reason is Reason.REVOKED


def test_a_revoked_token_cannot_log_out_or_out_everywhere(service, login):
    service.log_out(login.access_token)
    again = service.log_in("alice", PASSWORD)
    assert service.log_out_everywhere(login.access_token) == 0
    assert service.log_out(login.refresh_token) == 0
    assert not service.revoke(login.access_token)
    assert service.check_flow1(again.access_token).allowed


def test_a_used_refresh_token_cannot_log_out(service, login):
    rotated = service.refresh(login.refresh_token)
    assert service.log_out(login.refresh_token) == 0
    assert service.check_flow2(rotated.access_token).allowed


def test_revoke_one_token(service, login):
    assert service.revoke(login.access_token)
    assert service.check_flow2(login.access_token).reason is Reason.REVOKED
    assert service.refresh(login.refresh_token).ok  # the session's refresh token lives on


def test_refresh_rotates(service, login):
    first = service.refresh(login.refresh_token)
    assert first.ok and first.refresh_token != login.refresh_token
    assert service.check_flow2(first.access_token).allowed
    second = service.refresh(first.refresh_token)
    assert second.ok
    # rotation revokes the access token issued with the spent refresh token
    old = service.check_flow2(login.access_token)
    assert (old.reason, "rotated" in old.detail) == (Reason.REVOKED, True)
    assert not service.check_flow2(first.access_token).allowed
    assert service.check_flow2(second.access_token).allowed
    assert login.refresh_claims["access_jti"] == login.access_claims["jti"]


def test_refresh_reuse_revokes_the_family(service, login):
    rotated = service.refresh(login.refresh_token)
    replay = service.refresh(login.refresh_token)
    assert (replay.ok, replay.reason) == (False, Reason.REUSED)
    assert "revoked" in replay.message
    for token in (login.access_token, rotated.access_token):
        assert service.check_flow2(token).reason is Reason.REVOKED
    assert service.refresh(rotated.refresh_token).reason is Reason.REVOKED
    # another session of the same member is untouched
    assert service.check_flow2(service.log_in("alice", PASSWORD).access_token).allowed


def test_refresh_refuses_bad_tokens(service, login, clock):
    assert service.refresh(None).reason is Reason.MISSING
    assert service.refresh("garbage").reason is Reason.MALFORMED
    assert service.refresh(login.access_token).reason is Reason.WRONG_TYPE
    assert service.refresh(forge(login.access_claims)).reason is Reason.BAD_SIGNATURE
    clock.advance(service.lifetimes.refresh + 1)
    assert service.refresh(login.refresh_token).reason is Reason.EXPIRED


def test_concurrent_refresh_with_one_token_has_one_winner(service, login):
    results = []
    barrier = threading.Barrier(8)

    def exchange():
        barrier.wait()
        results.append(service.refresh(login.refresh_token))

    threads = [threading.Thread(target=exchange) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r.ok]
    assert len(winners) == 1
    assert {r.reason for r in results if not r.ok} <= {Reason.REUSED, Reason.REVOKED}
    # the reuse revoked the family, the winner's new tokens included
    assert service.check_flow2(winners[0].access_token).reason is Reason.REVOKED


# -- login and its rate limit ------------------------------------------------------------------


def test_wrong_password_unknown_name_and_bad_names_look_the_same(service):
    for name, password in [
        ("alice", "wrong password"),
        ("nobody", PASSWORD),
        ("", PASSWORD),
        ("\x00", PASSWORD),
        ("Robert'); DROP TABLE users;--", PASSWORD),
    ]:
        result = service.log_in(name, password)
        assert (result.ok, result.reason) == (False, Reason.BAD_CREDENTIALS)
        assert result.access_token is None
    assert service.users.count() == 2


def test_login_is_case_and_width_insensitive(service):
    assert service.log_in("ＡＬＩＣＥ", PASSWORD).ok


def test_locked_out_with_the_wait_then_unlocked(redis_client, tmp_path):
    clock = ManualClock(1_767_225_600)
    service = make_service(
        redis_client,
        tmp_path / "u.sqlite3",
        clock=clock,
        per_name=Limit(3, 120),
        per_client=Limit(10, 120),
    )
    service.sign_up("alice", PASSWORD)
    for _ in range(3):
        assert service.log_in("alice", "guess", client="c").reason is Reason.BAD_CREDENTIALS
    locked = service.log_in("alice", PASSWORD, client="c")  # even the right password
    assert (locked.ok, locked.reason) == (False, Reason.LOCKED_OUT)
    assert locked.retry_after == 120
    assert "try again in 2 min" in locked.message
    clock.advance(120)
    assert service.log_in("alice", PASSWORD, client="c").ok


def test_passwords_never_reach_redis(service, redis_client):
    service.log_in("alice", "a wrong but secret guess", client="c")
    service.log_in("alice", PASSWORD, client="c")
    # SCAN, not KEYS: a cluster client sends KEYS to one node, and scans every primary
    keys = list(redis_client.scan_iter(match="*"))
    assert any(key.startswith(service.prefix) for key in keys)
    dumped = b"".join(redis_client.dump(key) or b"" for key in keys)
    assert b"a wrong but secret guess" not in dumped
    assert PASSWORD.encode() not in dumped


# -- concurrency: a revocation is seen by every request that starts after it ----------------


def hammer_while_revoking(check, revoke, *, threads=8, checks_after=40):
    """Run ``check()`` in a loop on many threads; revoke midway; return violations.

    A violation is a check that *started* after ``revoke()`` returned and still said
    yes. Returns (violations, accepted_before, refused_after) so a caller can assert the
    run was meaningful.
    """
    records = []  # (started, allowed)
    revoked_at = []
    stop = threading.Event()

    def worker():
        while not stop.is_set():
            started = time.monotonic()
            allowed = bool(check())
            records.append((started, allowed))

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for worker_thread in workers:
        worker_thread.start()
    wait_until(lambda: len(records) > 50, what="requests before the revoke")
    revoke()
    revoked_at.append(time.monotonic())
    cut = revoked_at[0]
    wait_until(
        lambda: sum(1 for r in records if r[0] > cut) >= checks_after,
        what="checks that start after the revoke",
    )
    stop.set()
    for worker_thread in workers:
        worker_thread.join()
    violations = [r for r in records if r[0] > cut and r[1]]
    accepted_before = sum(1 for r in records if r[0] < cut and r[1])
    refused_after = sum(1 for r in records if r[0] > cut and not r[1])
    return violations, accepted_before, refused_after


def test_no_check_that_starts_after_the_revoke_accepts(service, login):
    violations, before, after = hammer_while_revoking(
        lambda: service.check_flow2(login.access_token),
        lambda: service.log_out(login.access_token),
    )
    assert before > 0 and after > 0
    assert violations == []


def test_the_concurrency_harness_catches_a_cached_check(service, login):
    # A check that remembers "allowed" for a while (a tempting optimisation) must fail
    # the same harness: this proves the test above could fail.
    cache = {}

    def cached_check():
        hit = cache.get(login.access_token)
        if hit and time.monotonic() - hit < 10:
            return True
        result = service.check_flow2(login.access_token)
        if result.allowed:
            cache[login.access_token] = time.monotonic()
        return result.allowed

    violations, before, _after = hammer_while_revoking(
        cached_check, lambda: service.log_out(login.access_token)
    )
    assert before > 0
    assert violations, "a cached check should have let a revoked token through"


# -- one session per member (single_session) ---------------------------------------------------


@pytest.fixture
def one_session(service, redis_client, clock):
    """A single-session service over the same members and the same Redis keys."""
    return make_service_sharing(service, redis_client, clock, single_session=True)


def make_service_sharing(service, redis_client, clock, **options):
    return AuthService.create(
        redis_client, users=service.users, secret=service.secret, clock=clock, **options
    )


def test_single_session_a_new_login_revokes_the_older_ones(one_session):
    laptop = one_session.log_in("alice", PASSWORD)
    room = one_session.open_room(laptop.access_token, "general")
    phone = one_session.log_in("alice", PASSWORD)
    old_page = one_session.check_flow1(laptop.access_token)
    old_room = one_session.check_flow2(room.room_token, room="general")
    for result in (old_page, old_room):
        assert (result.allowed, result.reason) == (False, Reason.REVOKED)
        assert "replaced by a newer login" in result.detail
    assert old_page.step is FLOW_1[3]
    assert one_session.refresh(laptop.refresh_token).reason is Reason.REVOKED
    assert one_session.check_flow1(phone.access_token).allowed
    assert one_session.refresh(phone.refresh_token).ok


def test_single_session_leaves_other_members_alone(one_session):
    bob = one_session.log_in("bob", PASSWORD)
    one_session.log_in("alice", PASSWORD)
    one_session.log_in("alice", PASSWORD)
    assert one_session.check_flow2(bob.access_token).allowed


def test_single_session_revokes_nothing_before_the_password_is_checked(one_session):
    laptop = one_session.log_in("alice", PASSWORD)
    for name, password in [("alice", "a wrong guess"), ("ALICE", ""), ("alice", PASSWORD * 2)]:
        assert one_session.log_in(name, password).reason is Reason.BAD_CREDENTIALS
    assert one_session.check_flow1(laptop.access_token).allowed


def test_single_session_not_while_locked_out(redis_client, tmp_path, clock):
    service = make_service(
        redis_client,
        tmp_path / "u.sqlite3",
        clock=clock,
        per_name=Limit(2, 120),
        per_client=Limit(10, 120),
        single_session=True,
    )
    service.sign_up("alice", PASSWORD)
    laptop = service.log_in("alice", PASSWORD, client="laptop")
    for _ in range(2):
        service.log_in("alice", "guess", client="attacker")
    locked = service.log_in("alice", PASSWORD, client="attacker")
    assert locked.reason is Reason.LOCKED_OUT
    assert service.check_flow1(laptop.access_token).allowed


def test_single_session_keeps_earlier_reasons_and_spent_refresh_tokens(one_session):
    stolen = one_session.log_in("alice", PASSWORD)
    one_session.revoke(stolen.access_token, why="stolen laptop")
    rotated = one_session.refresh(stolen.refresh_token)
    one_session.log_in("alice", PASSWORD)
    assert "stolen laptop" in one_session.check_flow1(stolen.access_token).detail
    assert "replaced by a newer login" in one_session.check_flow1(rotated.access_token).detail
    # the spent refresh token is still "used": replaying it is still seen as reuse
    assert one_session.refresh(stolen.refresh_token).reason is Reason.REUSED


def test_single_session_off_by_default_keeps_every_device(service):
    laptop = service.log_in("alice", PASSWORD)
    service.log_in("alice", PASSWORD)
    assert service.single_session is False
    assert service.check_flow1(laptop.access_token).allowed


def test_single_session_concurrent_logins_leave_at_most_one_session(service, redis_client, clock):
    # Six at once, each counted by the lock-out before its password is checked: with the
    # default five per name, the sixth is refused whenever all six are in flight together
    # (likelier on a warm connection pool), which is not what this test is about.
    one_session = make_service_sharing(
        service, redis_client, clock, single_session=True, per_name=Limit(10, 300)
    )
    results = []
    barrier = threading.Barrier(6)

    def log_in():
        barrier.wait()
        results.append(one_session.log_in("alice", PASSWORD))

    threads = [threading.Thread(target=log_in) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and all(results)
    standing = [r for r in results if one_session.check_flow1(r.access_token).allowed]
    assert len(standing) <= 1


# -- create(users=...) and the claims of both tokens -------------------------------------------


def test_create_shares_an_existing_user_store(service, redis_client, clock):
    other = make_service_sharing(service, redis_client, clock, namespace="other")
    assert other.users is service.users
    login = other.log_in("alice", PASSWORD)  # a member signed up through the first service
    assert login.ok and login.user == service.users.get_by_id(login.user.id)
    assert other.check_flow1(login.access_token).allowed
    other.sign_up("carol", PASSWORD)
    assert service.log_in("carol", PASSWORD).ok
    # the tokens live under each service's own prefix
    key = f"jwtlab:other:{{member:{login.user.id}}}:token:{login.access_claims['jti']}"
    assert redis_client.exists(key) == 1


def test_create_refuses_users_together_with_a_new_stores_settings(service, redis_client):
    with pytest.raises(TypeError, match="either users="):
        AuthService.create(redis_client, ":memory:", users=service.users)
    with pytest.raises(TypeError, match="either users="):
        AuthService.create(
            redis_client, users=service.users, password_hasher=service.users.password_hasher
        )


def test_create_without_a_path_keeps_members_in_memory(redis_client):
    service = AuthService.create(redis_client, password_hasher=fast_password_hasher())
    service.sign_up("alice", PASSWORD)
    assert service.log_in("alice", PASSWORD).ok


def test_login_result_carries_both_tokens_claims(service, login):
    access, refresh = login.access_claims, login.refresh_claims
    assert refresh["token_type"] == "refresh" and refresh["aud"] == "jwtlab:refresh"
    assert access["token_type"] == "access"
    assert refresh["fam"] == access["fam"] and refresh["jti"] != access["jti"]
    assert refresh["exp"] - refresh["iat"] == service.lifetimes.refresh
    assert refresh == jwtlab.decode(
        login.refresh_token, service.secret, algorithms=["HS256"], audience="jwtlab:refresh"
    )
    rotated = service.refresh(login.refresh_token)
    assert rotated.refresh_claims["fam"] == access["fam"]
    assert rotated.refresh_claims["jti"] != refresh["jti"]
    expiretime = service.tokens.expiretime("1", rotated.refresh_claims["jti"])
    assert expiretime == rotated.refresh_claims["exp"]
    assert service.log_in("alice", "wrong").refresh_claims is None
