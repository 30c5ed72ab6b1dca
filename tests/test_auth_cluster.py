"""The login flows on a real Redis Cluster (issue 15): the token store, the refresh family,
the login lock-out and "log out everywhere" work through `RedisCluster`, because every script
names keys of one hash slot (``{member:<sub>}``, ``{lockout}``). The session's cluster of each
engine (conftest.py: `clusters`); every flow test of test_auth_flows.py runs on it too."""

from __future__ import annotations

import pytest

from jwtlab.auth.flows import AuthService, Reason
from jwtlab.auth.users import fast_password_hasher

pytestmark = pytest.mark.server  # cluster nodes are real server processes

PASSWORD = "correct horse battery staple"


@pytest.fixture
def cluster(redis_cluster):
    client = redis_cluster.client()
    client.flushall()
    client.close()
    return redis_cluster


@pytest.fixture
def service(cluster):
    client = cluster.client()
    service = AuthService.create(client, password_hasher=fast_password_hasher())
    service.sign_up("alice", PASSWORD)
    yield service
    service.users.close()
    client.close()


def _slot_owners(cluster, keys):
    return {cluster.node_for_key(key).port for key in keys}


def test_a_whole_login_life_on_a_cluster(service, cluster):
    login = service.log_in("alice", PASSWORD)
    assert login.ok, login.message
    assert service.check_flow1(login.access_token).reason is Reason.OK
    room = service.open_room(login.access_token, "general")
    assert service.check_flow2(room.room_token, room="general").reason is Reason.OK
    assert service.check_flow2(room.room_token, room="redis").reason is Reason.WRONG_ROOM

    renewed = service.refresh(login.refresh_token)
    assert renewed.ok, renewed.message
    # rotation revokes the access token the old refresh token was issued with
    assert service.check_flow2(login.access_token).reason is Reason.REVOKED
    assert service.check_flow2(renewed.access_token).reason is Reason.OK
    # reusing the old refresh token revokes the whole family, on whichever node it lives
    assert service.refresh(login.refresh_token).reason is Reason.REUSED
    assert service.check_flow2(renewed.access_token).reason is Reason.REVOKED


def test_log_out_everywhere_reaches_every_token_of_the_member(service):
    phone = service.log_in("alice", PASSWORD)
    laptop = service.log_in("alice", PASSWORD)
    assert service.log_out_everywhere(laptop.access_token) >= 2
    for token in (phone.access_token, laptop.access_token):
        assert service.check_flow2(token).reason is Reason.REVOKED


def test_the_lockout_counts_atomically_on_a_cluster(service):
    reasons = [service.log_in("alice", "wrong", client="10.0.0.7").reason for _ in range(7)]
    assert reasons[:5] == [Reason.BAD_CREDENTIALS] * 5
    assert reasons[5:] == [Reason.LOCKED_OUT] * 2


def test_each_members_keys_live_on_one_node(service, cluster):
    service.sign_up("bob", PASSWORD)
    service.sign_up("carol", PASSWORD)
    for name in ("alice", "bob", "carol"):
        service.log_in(name, PASSWORD)
    client = cluster.client()
    try:
        keys = list(client.scan_iter(match=f"{service.prefix}:{{member:*", count=1000))
    finally:
        client.close()
    by_member: dict[str, list[str]] = {}
    for key in keys:
        by_member.setdefault(key.split("{", 1)[1].split("}", 1)[0], []).append(key)
    assert len(by_member) == 3, by_member
    for member_keys in by_member.values():
        assert len(_slot_owners(cluster, member_keys)) == 1, member_keys
