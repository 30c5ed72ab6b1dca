"""Bounded fuzzing: random and mutated tokens raise only jwtlab's errors, and a tampered
token is never accepted."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jwt_keys import hmac_signed, keys_for

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


# --- validly signed tokens with hostile content (issue 11's contract) --------------------

import json  # noqa: E402

from jwtlab import jwk  # noqa: E402

SECRET = b"a-secret-of-exactly-thirty-two-b"
KEYS = jwk.key_set([jwk.to_jwk(SECRET, kid="k1"), jwk.to_jwk(b"z" * 48, kid="k2")], public=False)
# Numbers and strings a hostile issuer (or a confused one) writes, as raw JSON text.
RAW_JSON = st.sampled_from(
    [
        "1e400", "-1e400", "1e308", "5e-324", "-0", "0.0", str(10**400), str(-(10**309)),
        str(10**308), str(2**53 + 1), "1767261600000", "1e11", '"\\ud800"', '"a\\udfffb"',
        '"\\ud83d\\ude00"', '"\\u0000"', '"\\u202e"', '"' + "x" * 3000 + '"', "[]", "{}",
        "null", "true", "false", '["\\udc00"]', '{"\\ud800":1}', "[[[[[[[[1]]]]]]]]",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
HEADER_NAMES = st.sampled_from(
    ["kid", "typ", "cty", "crit", "b64", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "zip", "x"]
)
CLAIM_NAMES = st.sampled_from(["exp", "nbf", "iat", "iss", "sub", "aud", "jti", "role", "e:x"])
MEMBER = st.tuples(st.just("value"), VALUES) | st.tuples(st.just("raw"), RAW_JSON)


def json_object(members: list[tuple[str, tuple[str, object]]]) -> bytes:
    """A JSON object text from (name, ("value", v) | ("raw", json_text)) pairs."""
    parts = []
    for name, (kind, value) in members:
        text = value if kind == "raw" else json.dumps(value)
        parts.append(f"{json.dumps(name)}:{text}")
    return ("{" + ",".join(parts) + "}").encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(HEADER_NAMES, MEMBER), max_size=3),
    st.lists(st.tuples(CLAIM_NAMES, MEMBER), max_size=5),
    st.sampled_from(["HS256", "HS384", "none", 256, None, ["HS256"]]),
    st.booleans(),
)
@example([("kid", ("value", 5))], [("exp", ("raw", str(10**400)))], "HS256", True)
@example([("kid", ("value", "k3"))], [], "HS256", True)
@example([], [("exp", ("raw", "1e400"))], "HS256", False)
@example([("crit", ("value", ["b64"])), ("b64", ("value", True))], [], "HS256", False)
def test_validly_signed_hostile_tokens_end_in_token_errors_only(header, claims, alg, key_set):
    header_json = json_object([("alg", ("value", alg)), *header])
    token = hmac_signed(header_json, json_object(claims), SECRET)
    try:
        result = jwtlab.decode(
            token, KEYS if key_set else SECRET, ["HS256", "HS384"], audience="me", now=NOW
        )
    except jwtlab.InvalidTokenError as error:
        assert len(str(error)) < 800, str(error)[:200]
    else:
        json.dumps(result, ensure_ascii=False).encode("utf-8")  # printable, storable
    try:
        view = jwtlab.inspect(token, now=NOW)
    except jwtlab.InvalidTokenError as error:
        assert len(str(error)) < 800, str(error)[:200]
    else:
        str(view).encode("utf-8")  # what `jwtlab inspect` prints
        view._repr_html_().encode("utf-8")
