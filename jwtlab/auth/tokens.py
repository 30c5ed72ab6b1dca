"""The token store: the copy of each issued JWT that Redis keeps "with an expiry".

The notes' flow 1, step 4 (유효성 검사는 레디스에 만료시간이 존재하는 토큰과 같은지 비교) and
flow 2, step 4 (서버 토큰이 Redis에 존재하면 통과) both ask Redis one question: is this token
still one we stand behind? This module keeps the answer.

Keys (``prefix`` is the app's namespace, ``jwtlab:<namespace>``; see
`jwtlab.auth.AuthService.create`)::

    <prefix>:{member:<sub>}:token:<jti>      STRING  SHA-256 of the token while it is live,
                                                     "revoked:<why>" once revoked, "used"
                                                     for a spent refresh token; EXPIREAT exp
    <prefix>:{member:<sub>}:tokens           ZSET    jti -> exp of every token issued to the
                                                     member, for "log out everywhere"
    <prefix>:{member:<sub>}:family:<fam>     SET     the jtis of one login session (access,
                                                     refresh and room tokens), for logout
                                                     and reuse detection
    <prefix>:{member:<sub>}:family:<fam>:revoked
                                             STRING  why the family was revoked (blocks
                                                     late arrivals)

**Why ``{member:<sub>}``.** Every key of one member carries the same *hash tag*, the part
in braces, so on a Redis Cluster they all live in one hash slot, on one node: a Lua
script or a MULTI may only touch keys of one slot. Each script here also names every key
it touches in ``KEYS`` (never builds a key name inside the script), as a cluster needs
to route it; a revocation therefore reads the jtis first and the script refuses, and is
retried, if the set changed in between.

**Why the key expires with EXPIREAT exp.** A JWT carries its own end, ``exp``
(RFC 7519 §4.1.4, a NumericDate). Setting the key's expiry to the same absolute instant
(``EXPIREAT`` takes a Unix time, https://redis.io/docs/latest/commands/expireat/) means
Redis forgets the token exactly when the token stops being valid: no "TTL 900 s" that
starts a little after ``iat`` and drifts from ``exp``. ``EXPIRETIME key`` shows it.

**Why the key is the ``jti`` and the value a digest, not the token.** The token is a
bearer credential: whoever holds the string *is* the user until ``exp``. Everything in
Redis can be read by more people and programs than the signing key — ``MONITOR``, a
replica, an RDB snapshot or AOF file, a backup, ``KEYS *`` in a classroom. Storing
SHA-256 of the token lets the server check "is this the very token we issued?" (the
notes' *compare*), but a leaked digest cannot be sent as a token. The ``jti``
(RFC 7519 §4.1.7) is a random ID we put in every token, so it names the key without
revealing anything. Because the token has ~256 bits of randomness and signature,
a plain SHA-256 cannot be brute-forced back; no salt is needed.

**Revoked is not the same as gone.** Revocation overwrites the value with
``revoked:<why>`` and *keeps* the expiry (``SET ... XX KEEPTTL``), so a check can say
"revoked (logout)" rather than just "not in Redis", and the marker still vanishes at
``exp``. Every change that touches several keys is one Lua script, which Redis runs
atomically (https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/):
a token issued while its family is being revoked cannot slip through.

The clock of record for expiry is the Redis server's. The flows compare ``exp`` with
their own injectable clock; keep the two together (see `jwtlab.clock`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import redis

from jwtlab._redis_compat import command_during

# KEYS: token, member index, family set, family revoked marker
# ARGV: digest, exp, jti
_SAVE = """
local value = ARGV[1]
local family_revoked = redis.call('GET', KEYS[4])
if family_revoked then
  -- the session was revoked while this token was being issued: store it revoked
  value = 'revoked:' .. family_revoked
end
local exp = tonumber(ARGV[2])
redis.call('SET', KEYS[1], value)
redis.call('EXPIREAT', KEYS[1], exp)
-- the index and the family live as long as their longest-lived token
-- (EXPIRETIME answers -1 for a key without expiry, -2 for a missing key)
redis.call('ZADD', KEYS[2], exp, ARGV[3])
if redis.call('EXPIRETIME', KEYS[2]) < exp then redis.call('EXPIREAT', KEYS[2], exp) end
redis.call('SADD', KEYS[3], ARGV[3])
if redis.call('EXPIRETIME', KEYS[3]) < exp then redis.call('EXPIREAT', KEYS[3], exp) end
return value
"""

# KEYS: token;  ARGV: digest.  Returns the value before the call.
_CLAIM_REFRESH = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], 'used', 'KEEPTTL')
end
return current
"""

# KEYS: family set, family revoked marker;  ARGV: reason, marker TTL (when the set is gone)
# The marker makes a token issued to this family from now on be stored revoked (_SAVE).
_MARK_FAMILY_REVOKED = """
redis.call('SET', KEYS[2], ARGV[1])
local family_expires = redis.call('EXPIRETIME', KEYS[1])
if family_expires > 0 then
  redis.call('EXPIREAT', KEYS[2], family_expires)
else
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
"""

# KEYS[1]: the collection the jtis were read from (a family SET or a member's index ZSET)
# KEYS[2..]: the token keys to revoke;  ARGV: reason, the collection's size when read.
# One script for "log out", "log out everywhere" and "one session per member": only
# live tokens change (a revoked token keeps its reason, a spent refresh token stays
# "used", so a replay of it is still detected as reuse). Returns how many were revoked,
# or -1 if the collection grew since it was read: the caller reads it again.
_REVOKE_LISTED = """
local kind = redis.call('TYPE', KEYS[1])['ok']
local size = 0
if kind == 'set' then size = redis.call('SCARD', KEYS[1])
elseif kind == 'zset' then size = redis.call('ZCARD', KEYS[1]) end
if size ~= tonumber(ARGV[2]) then return -1 end
local revoked = 0
for i = 2, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value and value ~= 'used' and string.sub(value, 1, 8) ~= 'revoked:' then
    redis.call('SET', KEYS[i], 'revoked:' .. ARGV[1], 'KEEPTTL')
    revoked = revoked + 1
  end
end
return revoked
"""

# A revocation re-reads a set that grew under it; this many tries is far more than a
# member logging in and out by hand can cause.
_REVOKE_TRIES = 50


T = TypeVar("T")


class State(StrEnum):
    """What Redis says about one token."""

    LIVE = "live"  # stored, and the digest matches the token presented
    MISSING = "missing"  # no key: never issued here, expired, or Redis lost it
    REVOKED = "revoked"  # logged out, or its family was revoked
    USED = "used"  # a refresh token that was already exchanged
    MISMATCH = "mismatch"  # a key for this jti holds a different token's digest


@dataclass(frozen=True)
class Lookup:
    """The answer of one Redis lookup; ``why`` says who revoked it, when revoked."""

    state: State
    why: str = ""

    @property
    def live(self) -> bool:
        return self.state is State.LIVE


def token_digest(token: str) -> str:
    """SHA-256 of the token, hex: what Redis keeps instead of the bearer token."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _texts(members: Iterable[object]) -> list[str]:
    """The members of a set or a sorted set (read without scores), as text."""
    return [member.decode() if isinstance(member, bytes) else str(member) for member in members]


class TokenStore:
    """Issued tokens in Redis, each under a key that expires exactly with the token.

    >>> store = TokenStore(redis_client, prefix="jwtlab:demo")          # doctest: +SKIP
    >>> store.save(token, claims)                                      # doctest: +SKIP
    >>> store.lookup(token, claims["sub"], claims["jti"]).state         # doctest: +SKIP
    <State.LIVE: 'live'>
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        prefix: str = "jwtlab",
        revoked_marker_ttl: int = 86_400,
    ) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.revoked_marker_ttl = revoked_marker_ttl
        self._save = redis_client.register_script(_SAVE)
        self._claim_refresh = redis_client.register_script(_CLAIM_REFRESH)
        self._mark_family_revoked = redis_client.register_script(_MARK_FAMILY_REVOKED)
        self._revoke_listed = redis_client.register_script(_REVOKE_LISTED)

    # -- key names ---------------------------------------------------------------------------

    def member_tag(self, sub: str) -> str:
        """The part of every key of member ``sub`` up to and including the hash tag."""
        return f"{self.prefix}:{{member:{sub}}}"

    def token_key(self, sub: str, jti: str) -> str:
        return f"{self.member_tag(sub)}:token:{jti}"

    def key_of(self, claims: dict[str, Any]) -> str:
        """The key of the token with these claims (its ``sub`` and ``jti``)."""
        return self.token_key(str(claims["sub"]), claims["jti"])

    def user_index_key(self, sub: str) -> str:
        return f"{self.member_tag(sub)}:tokens"

    def family_key(self, sub: str, family: str) -> str:
        return f"{self.member_tag(sub)}:family:{family}"

    def family_revoked_key(self, sub: str, family: str) -> str:
        return f"{self.member_tag(sub)}:family:{family}:revoked"

    def revocations_channel(self) -> str:
        """The pub/sub channel every revocation is announced on (the chat listens)."""
        return f"{self.prefix}:revocations"

    def _announce_revocation(self, scope: str, sub: str, identifier: str, why: str) -> None:
        """PUBLISH ``{"scope": token|family|user, "sub": ..., "id": ..., "why": ...}`` so that
        every process holding a socket opened by one of these tokens closes it now. ``id`` is
        the jti, the family or the member; ``sub`` always names the member (a jti or a family
        is only unique within its member's keys)."""
        event = json.dumps({"scope": scope, "sub": str(sub), "id": str(identifier), "why": why})
        self.redis.publish(self.revocations_channel(), event)

    # -- writing -----------------------------------------------------------------------------

    def save(self, token: str, claims: dict[str, Any]) -> Lookup:
        """Keep the digest of ``token`` under its ``jti`` until its ``exp`` (EXPIREAT).

        ``claims`` must hold ``jti``, ``sub``, ``exp`` and ``fam`` (the session family).
        Returns the stored state: `State.REVOKED` if the family was revoked meanwhile.
        """
        sub, family = str(claims["sub"]), claims["fam"]
        stored = self._save(
            keys=[
                self.token_key(sub, claims["jti"]),
                self.user_index_key(sub),
                self.family_key(sub, family),
                self.family_revoked_key(sub, family),
            ],
            args=[token_digest(token), int(claims["exp"]), claims["jti"]],
        )
        return _lookup_from_value(_text(stored), token_digest(token))

    def revoke(self, sub: str, jti: str, why: str = "logout") -> bool:
        """Revoke one token; True if it was live. Its key keeps its expiry, and a token
        already revoked keeps its first reason."""
        sub = str(sub)

        def read() -> tuple[int, list[str]]:
            return int(self.redis.zcard(self.user_index_key(sub))), [jti]

        revoked = self._revoke(sub, self.user_index_key(sub), read, why) == 1
        self._announce_revocation("token", sub, jti, why)
        return revoked

    def revoke_family(self, sub: str, family: str, why: str = "logout") -> int:
        """Revoke every token of one login session; returns how many were still live."""
        sub = str(sub)
        family_key = self.family_key(sub, family)
        self._mark_family_revoked(
            keys=[family_key, self.family_revoked_key(sub, family)],
            args=[why, self.revoked_marker_ttl],
        )

        def read() -> tuple[int, list[str]]:
            jtis = self.family_of(sub, family)
            return len(jtis), sorted(jtis)

        revoked = self._revoke(sub, family_key, read, why)
        self._announce_revocation("family", sub, family, why)
        return revoked

    def revoke_user(self, sub: str, why: str = "logged out everywhere") -> int:
        """Revoke every token issued to one member ("log out everywhere")."""
        sub = str(sub)

        def read() -> tuple[int, list[str]]:
            jtis = self.tokens_of(sub)
            return len(jtis), jtis

        revoked = self._revoke(sub, self.user_index_key(sub), read, why)
        self._announce_revocation("user", sub, sub, why)
        return revoked

    def revoke_other_sessions(self, sub: str, keep_family: str, why: str) -> int:
        """Revoke every live token of the member except those of session ``keep_family``.

        Returns how many tokens were live and are now revoked (one session per member:
        see `AuthService.single_session`).
        """
        sub = str(sub)

        def read() -> tuple[int, list[str]]:
            # No MULTI needed: a token added after the index is read grows the index, and the
            # script then refuses; one added to the family too is excluded all the same.
            pipe = self.redis.pipeline(transaction=False)
            pipe.zrange(self.user_index_key(sub), 0, -1)
            pipe.smembers(self.family_key(sub, keep_family))
            issued, kept = pipe.execute()
            kept_jtis = set(_texts(kept))
            return len(issued), [jti for jti in _texts(issued) if jti not in kept_jtis]

        revoked = self._revoke(sub, self.user_index_key(sub), read, why)
        # named by member: the kept session's sockets pass the re-check and stay open
        self._announce_revocation("user", sub, sub, why)
        return revoked

    def _revoke(
        self, sub: str, collection: str, read: Callable[[], tuple[int, list[str]]], why: str
    ) -> int:
        """Read the jtis, then revoke them in one script that names every key it touches;
        read again if the collection grew in between (a login racing the logout)."""
        for _ in range(_REVOKE_TRIES):
            size, jtis = read()
            keys = [collection, *(self.token_key(sub, jti) for jti in jtis)]
            revoked = int(self._revoke_listed(keys=keys, args=[why, size]))
            if revoked >= 0:
                return revoked
        raise RuntimeError(
            f"{collection} kept changing during {_REVOKE_TRIES} tries to revoke its tokens; "
            "something is issuing tokens in a loop"
        )

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, token: str, sub: str, jti: str) -> Lookup:
        """One ``GET``: is this exact token live, revoked, used, or unknown to Redis?"""
        value = _text(self.redis.get(self.token_key(str(sub), jti)))
        return _lookup_from_value(value, token_digest(token))

    def lookup_during(
        self, token: str, sub: str, jti: str, work: Callable[[], T]
    ) -> tuple[T, Lookup]:
        """The same ``GET`` as `lookup`, with ``work()`` run while the request is on the wire.

        A round trip to Redis is mostly waiting; the flows verify the JWT's signature in
        that wait instead of before it (the key's name comes from the token's ``sub`` and
        ``jti``, read before verification, but nothing is decided until the signature is
        checked). If ``work`` raises, the reply is still read, so the connection stays
        in step, and the exception propagates. A client this cannot overlap on (a
        single-connection client, a cluster client) gets the plain ``work()``, then `lookup`.
        """
        result, value = command_during(self.redis, ("GET", self.token_key(str(sub), jti)), work)
        return result, _lookup_from_value(_text(value), token_digest(token))

    def claim_refresh(self, token: str, sub: str, jti: str) -> Lookup:
        """Mark a refresh token used, atomically, and say what it was before.

        `State.LIVE` means this call won the exchange; `State.USED` means someone
        exchanged it already — the reuse a rotation scheme exists to detect.
        """
        digest = token_digest(token)
        key = self.token_key(str(sub), jti)
        before = _text(self._claim_refresh(keys=[key], args=[digest]))
        return _lookup_from_value(before, digest)

    def expiretime(self, sub: str, jti: str) -> int:
        """The Unix time the token's key expires at (``EXPIRETIME``; -2 if gone)."""
        return int(self.redis.expiretime(self.token_key(str(sub), jti)))

    def ttl(self, sub: str, jti: str) -> int:
        """Seconds the token's key has left (``TTL``; -2 if gone)."""
        return int(self.redis.ttl(self.token_key(str(sub), jti)))

    def tokens_of(self, sub: str) -> list[str]:
        """The jtis issued to one member whose index entry has not expired."""
        return _texts(self.redis.zrange(self.user_index_key(str(sub)), 0, -1))

    def family_of(self, sub: str, family: str) -> set[str]:
        return set(_texts(self.redis.smembers(self.family_key(str(sub), family))))


def _lookup_from_value(value: str | None, digest: str) -> Lookup:
    if value is None:
        return Lookup(State.MISSING)
    if value.startswith("revoked:"):
        return Lookup(State.REVOKED, why=value.removeprefix("revoked:"))
    if value == "used":
        return Lookup(State.USED)
    # compare_digest: the time taken does not reveal how many characters matched
    if hmac.compare_digest(value, digest):
        return Lookup(State.LIVE)
    return Lookup(State.MISMATCH)
