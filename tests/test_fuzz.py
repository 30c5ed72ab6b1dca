"""Bounded fuzzing: random and mutated tokens raise only jwtlab's errors, and a tampered
token is never accepted."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jwt_keys import keys_for

import jwtlab
from jwtlab.b64 import ALPHABET

NOW = 1_767_261_600
CLAIMS = {"sub": "alice", "role": "user", "exp": NOW + 60}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALGORITHMS = ["HS256", "ES256", "EdDSA", "RS256"]
TOKENS = {alg: jwtlab.encode(CLAIMS, keys_for(alg)[0], algorithm=alg) for alg in ALGORITHMS}
TOKEN_CHARACTERS = ALPHABET + ".=+/ \n\x00é"


def outcome(token, alg="HS256"):
    """The claims if the token is accepted, else None; anything but jwtlab's errors escapes."""
    try:
        return jwtlab.decode(token, keys_for(alg)[1], [alg, "HS384"], now=NOW)
    except jwtlab.JwtlabError:
        return None


@FUZZ
@given(st.text(alphabet=TOKEN_CHARACTERS, max_size=300) | st.text(max_size=100))
@example("..")
@example("e30.e30.")
@example("eyJhbGciOiJIUzI1NiJ9.e30.")
def test_random_text_is_refused_with_jwtlab_errors_only(text):
    assert outcome(text) is None


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_are_refused_with_jwtlab_errors_only(data):
    assert outcome(data) is None


mutations = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 10**6), st.sampled_from(TOKEN_CHARACTERS)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.sampled_from(TOKEN_CHARACTERS)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.just("")),
)


def mutate(token: str, changes) -> str:
    for kind, position, character in changes:
        index = position % (len(token) + 1)
        if kind == "replace" and index < len(token):
            token = token[:index] + character + token[index + 1 :]
        elif kind == "insert":
            token = token[:index] + character + token[index:]
        elif kind == "delete" and index < len(token):
            token = token[:index] + token[index + 1 :]
    return token


@FUZZ
@given(st.sampled_from(ALGORITHMS), st.lists(mutations, min_size=1, max_size=4))
def test_tampered_tokens_are_never_accepted(alg, changes):
    original = TOKENS[alg]
    tampered = mutate(original, changes)
    result = outcome(tampered, alg)
    if tampered == original:
        assert result == CLAIMS
    else:
        assert result is None, f"accepted a tampered token: {tampered}"


@FUZZ
@given(st.sampled_from(ALGORITHMS), st.integers(0, 2), st.binary(min_size=1, max_size=64))
def test_replaced_segments_are_never_accepted(alg, which, data):
    segments = TOKENS[alg].split(".")
    replacement = jwtlab.b64url_encode(data)
    if replacement == segments[which]:
        return
    segments[which] = replacement
    assert outcome(".".join(segments), alg) is None
