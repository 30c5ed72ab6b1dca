"""encode/decode: round trips and every refusal of the issue's "Verify strictly" list.

Each refusal checks the error class and a phrase of the message that teaches.
"""

from __future__ import annotations

import datetime as dt
import json

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt_keys import hmac_signed, rsa_key

import jwtlab
from jwtlab import b64url_encode, jwk
from jwtlab.token import MAX_JSON_DEPTH, MAX_TOKEN_LENGTH

SECRET = b"a-secret-of-exactly-thirty-two-b"
NOW = 1_767_261_600  # 2026-01-01T10:00:00Z


def forge(header: dict | bytes, payload: dict | bytes, secret: bytes = SECRET) -> str:
    """A token with any header and payload bytes, HMAC-SHA256-signed by hand."""
    header_bytes = header if isinstance(header, bytes) else json.dumps(header).encode()
    payload_bytes = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return hmac_signed(header_bytes, payload_bytes, secret)


def decode(token, **options):
    options.setdefault("now", NOW)
    return jwtlab.decode(token, SECRET, ["HS256"], **options)


HS256 = {"alg": "HS256", "typ": "JWT"}


# --- what works --------------------------------------------------------------------------


def test_hs256_round_trip_and_same_token_as_pyjwt():
    claims = {"sub": "alice", "iat": NOW, "exp": NOW + 300}
    token = jwtlab.encode(claims, SECRET)
    assert token == pyjwt.encode(claims, SECRET, algorithm="HS256")
    assert decode(token) == claims


def test_decode_complete_and_unverified_header():
    token = jwtlab.encode({"sub": "a"}, SECRET, headers={"kid": "k1"})
    full = jwtlab.decode_complete(token, SECRET, ["HS256"], now=NOW)
    assert full["header"] == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    assert full["payload"] == {"sub": "a"}
    assert len(full["signature"]) == 32
    assert jwtlab.get_unverified_header(token)["kid"] == "k1"


def test_datetimes_become_numeric_dates():
    moment = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    token = jwtlab.encode({"exp": moment}, SECRET)
    assert decode(token, now=NOW - 1) == {"exp": NOW}


@pytest.mark.parametrize(
    "now",
    [NOW, float(NOW), dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)],
    ids=["int", "float", "datetime"],
)
def test_now_accepts_epoch_seconds_and_aware_datetimes(now):
    token = jwtlab.encode({"exp": NOW + 1}, SECRET)
    assert jwtlab.decode(token, SECRET, ["HS256"], now=now) == {"exp": NOW + 1}


def test_naive_now_is_refused():
    token = jwtlab.encode({"exp": NOW + 1}, SECRET)
    with pytest.raises(ValueError, match="naive datetime"):
        jwtlab.decode(token, SECRET, ["HS256"], now=dt.datetime(2026, 1, 1))


def test_bytes_token_and_jwk_secret():
    token = jwtlab.encode({"a": 1}, jwk.to_jwk(SECRET))
    assert jwtlab.decode(token.encode(), jwk.to_jwk(SECRET), ["HS256"]) == {"a": 1}


# --- the allow-list and alg ---------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", " none"])
def test_alg_none_in_any_spelling(alg):
    header = b64url_encode(json.dumps({"alg": alg}).encode())
    payload = b64url_encode(b'{"sub":"admin"}')
    with pytest.raises(jwtlab.UnsecuredAlgorithmError, match="unsecured token"):
        decode(f"{header}.{payload}.")


def test_alg_not_in_allow_list():
    token = jwtlab.encode({"a": 1}, SECRET, algorithm="HS512", allow_weak_key=True)
    with pytest.raises(jwtlab.InvalidAlgorithmError, match=r"allows only \['HS256'\]"):
        decode(token)


def test_missing_alg():
    with pytest.raises(jwtlab.InvalidAlgorithmError, match="has no 'alg'"):
        decode(forge({"typ": "JWT"}, {"a": 1}))


@pytest.mark.parametrize("algorithms", ["HS256", None, []])
def test_algorithms_must_be_an_explicit_list(algorithms):
    token = jwtlab.encode({"a": 1}, SECRET)
    with pytest.raises(TypeError, match="algorithms="):
        jwtlab.decode(token, SECRET, algorithms)


def test_none_cannot_be_allowed():
    with pytest.raises(ValueError, match="may not contain 'none'"):
        jwtlab.decode(jwtlab.encode({}, SECRET), SECRET, ["none"])


def test_unknown_algorithm_name_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown algorithm 'HS257'"):
        jwtlab.decode(jwtlab.encode({}, SECRET), SECRET, ["HS257"])


# --- key type: algorithm confusion ---------------------------------------------------------


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def _public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_pem_public_key_as_hmac_secret_is_algorithm_confusion(ec_key):
    public_pem = _public_pem(ec_key)
    forged = forge(HS256, {"sub": "admin"}, secret=public_pem)
    with pytest.raises(jwtlab.AlgorithmConfusionError, match="algorithm-confusion attack"):
        jwtlab.decode(forged, public_pem, ["ES256", "HS256"])
    # it is a token error too, so a handler that catches InvalidTokenError refuses it
    with pytest.raises(jwtlab.InvalidTokenError):
        jwtlab.decode(forged, public_pem.decode(), ["ES256", "HS256"])


def test_jwk_public_key_as_hmac_secret_is_algorithm_confusion(ec_key):
    public = jwk.public_jwk(ec_key)
    with pytest.raises(jwtlab.AlgorithmConfusionError, match="is the algorithm-confusion"):
        jwtlab.decode(forge(HS256, {"a": 1}), public, ["HS256"])


def test_key_object_as_hmac_secret_is_algorithm_confusion(ec_key):
    with pytest.raises(jwtlab.AlgorithmConfusionError, match="asymmetric key as an HMAC"):
        jwtlab.decode(forge(HS256, {"a": 1}), ec_key.public_key(), ["HS256"])


def test_secret_for_an_asymmetric_algorithm(ec_key):
    token = jwtlab.encode({"a": 1}, ec_key, algorithm="ES256")
    with pytest.raises(jwtlab.InvalidKeyError, match="ES256 needs an asymmetric key"):
        jwtlab.decode(token, SECRET, ["ES256"])


def test_wrong_family_of_key(ec_key):
    token = jwtlab.encode({"a": 1}, ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA")
    with pytest.raises(jwtlab.InvalidKeyError, match="EdDSA needs an Ed25519 or Ed448 key"):
        jwtlab.decode(token, ec_key.public_key(), ["EdDSA"])


# --- weak HMAC secrets -------------------------------------------------------------------


@pytest.mark.parametrize(("alg", "size"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_hmac_secret_shorter_than_the_hash_is_refused(alg, size):
    short = b"s" * (size - 1)
    with pytest.raises(jwtlab.WeakKeyError, match=f"at least {size} bytes"):
        jwtlab.encode({"a": 1}, short, algorithm=alg)
    token = jwtlab.encode({"a": 1}, short, algorithm=alg, allow_weak_key=True)
    with pytest.raises(jwtlab.WeakKeyError, match="allow_weak_key=True"):
        jwtlab.decode(token, short, [alg])
    assert jwtlab.decode(token, short, [alg], allow_weak_key=True) == {"a": 1}


def test_empty_secret_is_refused_even_when_weak_keys_are_allowed():
    with pytest.raises(jwtlab.WeakKeyError, match="empty secret"):
        jwtlab.encode({"a": 1}, b"", allow_weak_key=True)


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize(("token", "count"), [("abc", 1), ("a.b", 2), ("a.b.c.d", 4)])
def test_wrong_segment_count(token, count):
    with pytest.raises(jwtlab.SegmentCountError, match=f"this has {count} segment"):
        decode(token)


def test_five_segments_is_named_as_jwe():
    with pytest.raises(jwtlab.SegmentCountError, match="is a JWE"):
        decode("a.b.c.d.e")


@pytest.mark.parametrize(
    ("mutate", "phrase"),
    [
        (lambda t: t.replace(".", "=.", 1), r"character '=' at position \d+ is padding"),
        (lambda t: t[:5] + "+" + t[6:], "belongs to standard base64"),
        (lambda t: t[:5] + " " + t[6:], "is whitespace"),
        (lambda t: t[:5] + "*" + t[6:], "not in the base64url alphabet"),
    ],
    ids=["padding", "plus", "space", "star"],
)
def test_bad_base64url_names_the_character(mutate, phrase):
    with pytest.raises(jwtlab.Base64urlError, match=phrase):
        decode(mutate(jwtlab.encode({"a": 1}, SECRET)))


def test_non_canonical_signature_bits_are_refused():
    token = jwtlab.encode({"a": 1}, SECRET)
    head, last = token[:-1], token[-1]  # 43 characters: the last carries 2 unused bits
    sibling = jwtlab.b64.ALPHABET[jwtlab.b64.ALPHABET.index(last) ^ 1]
    with pytest.raises(jwtlab.Base64urlError, match="non-zero unused bits"):
        decode(head + sibling)


@pytest.mark.parametrize(
    ("payload", "phrase"),
    [
        (b"[1, 2]", "a list, not an object"),
        (b'"text"', "a str, not an object"),
        (b"{nope}", "not valid JSON"),
        (b'{"exp": NaN}', "NaN is not JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
    ids=["array", "string", "broken", "nan", "latin"],
)
def test_payload_that_is_not_a_json_object(payload, phrase):
    with pytest.raises(jwtlab.InvalidJSONError, match=phrase):
        decode(forge(HS256, payload))


def test_header_that_is_not_a_json_object():
    with pytest.raises(jwtlab.InvalidJSONError, match="the header is JSON but a list"):
        decode(forge(b'["HS256"]', {"a": 1}))


@pytest.mark.parametrize("where", ["header", "payload"])
def test_duplicate_member_names(where):
    duplicated = b'{"alg":"HS256","alg":"HS256"}' if where == "header" else b'{"a":1,"a":2}'
    header = duplicated if where == "header" else json.dumps(HS256).encode()
    payload = duplicated if where == "payload" else b'{"a":1}'
    with pytest.raises(jwtlab.DuplicateMemberError, match="appears twice"):
        decode(forge(header, payload))


def test_unknown_crit_entries():
    with pytest.raises(jwtlab.UnsupportedCriticalHeaderError, match="understands only"):
        decode(forge({**HS256, "crit": ["exp"], "exp": 1}, {"a": 1}))


def test_b64_false():
    with pytest.raises(jwtlab.UnencodedPayloadError, match="b64: false"):
        decode(forge({**HS256, "b64": False, "crit": ["b64"]}, {"a": 1}))


def test_oversized_token():
    token = jwtlab.encode({"pad": "x" * MAX_TOKEN_LENGTH}, SECRET)
    with pytest.raises(jwtlab.TokenTooLargeError, match=f"at most {MAX_TOKEN_LENGTH}"):
        decode(token)


def test_deeply_nested_json():
    deep = b'{"a":' + b"[" * (MAX_JSON_DEPTH + 5) + b"]" * (MAX_JSON_DEPTH + 5) + b"}"
    with pytest.raises(jwtlab.JSONNestingError, match=f"reads at most {MAX_JSON_DEPTH}"):
        decode(forge(HS256, deep))
    # brackets inside strings do not count
    shallow = json.dumps({"a": "[" * 100}).encode()
    assert decode(forge(HS256, shallow)) == {"a": "[" * 100}


def test_tampered_payload_fails_the_signature():
    header, _, signature = jwtlab.encode({"role": "user"}, SECRET).split(".")
    payload = b64url_encode(b'{"role":"admin"}')
    with pytest.raises(jwtlab.InvalidSignatureError, match="does not match"):
        decode(f"{header}.{payload}.{signature}")


# --- ECDSA signature shape ------------------------------------------------------------------


def _es256_token(key, payload=None):
    return jwtlab.encode(payload or {"a": 1}, key, algorithm="ES256")


def test_ecdsa_signature_of_the_wrong_length(ec_key):
    header, payload, _ = _es256_token(ec_key).split(".")
    for size in (63, 65, 72):
        with pytest.raises(jwtlab.MalformedSignatureError, match=f"this one has {size}"):
            jwtlab.decode(f"{header}.{payload}.{b64url_encode(bytes(size))}", ec_key, ["ES256"])


def test_ecdsa_der_signature_is_named(ec_key):
    header, payload, _ = _es256_token(ec_key).split(".")
    der_like = b"\x30" + bytes(70)
    with pytest.raises(jwtlab.MalformedSignatureError, match="looks DER-encoded"):
        jwtlab.decode(f"{header}.{payload}.{b64url_encode(der_like)}", ec_key, ["ES256"])


@pytest.mark.parametrize(("part", "value"), [("r", "zero"), ("s", "zero"), ("r", "n"), ("s", "n")])
def test_ecdsa_r_or_s_out_of_range(ec_key, part, value):
    order = jwtlab.algorithms.ALGORITHMS["ES256"].order
    header, payload, signature_segment = _es256_token(ec_key).split(".")
    signature = jwtlab.b64url_decode(signature_segment)
    number = (0 if value == "zero" else order).to_bytes(32, "big")
    bad = number + signature[32:] if part == "r" else signature[:32] + number
    phrase = f"{part} = {'0' if value == 'zero' else 'n or more'}"
    with pytest.raises(jwtlab.MalformedSignatureError, match=phrase):
        jwtlab.decode(f"{header}.{payload}.{b64url_encode(bad)}", ec_key, ["ES256"])


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_group_orders_are_right(alg):
    """(r, n - s) also verifies when n is the true order: ECDSA's known malleability."""
    algorithm = jwtlab.algorithms.ALGORITHMS[alg]
    key = ec.generate_private_key(algorithm.curve())
    signature = algorithm.sign(b"message", key)
    size = algorithm.coordinate_size
    s = int.from_bytes(signature[size:], "big")
    mirrored = signature[:size] + (algorithm.order - s).to_bytes(size, "big")
    assert algorithm.verify(b"message", key.public_key(), mirrored)


# --- claims ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("1767261600", "the string '1767261600'"),
        (True, "the boolean true"),
        (None, "the null None"),
        ([1], r"the array \[1\]"),
    ],
    ids=["string", "bool", "null", "array"],
)
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_time_claims_must_be_numbers(claim, value, phrase):
    with pytest.raises(jwtlab.InvalidNumericDateError, match=f"{claim} must be a NumericDate"):
        decode(jwtlab.encode({claim: value}, SECRET))
    with pytest.raises(jwtlab.DecodeError, match=phrase):
        decode(jwtlab.encode({claim: value}, SECRET))


def test_milliseconds_are_refused_with_the_fix():
    token = jwtlab.encode({"exp": 1480849147370}, SECRET)
    with pytest.raises(
        jwtlab.MillisecondNumericDateError, match=r"divide by 1000 -> 1480849147 \(2016-12-04"
    ):
        decode(token)


def test_expired():
    token = jwtlab.encode({"exp": NOW - 42}, SECRET)
    with pytest.raises(
        jwtlab.ExpiredSignatureError,
        match=r"token expired 42 s ago at 2026-01-01T09:59:18Z \(exp=1767261558\); issue a new",
    ):
        decode(token)


def test_expiry_is_exclusive_and_leeway_extends_it():
    token = jwtlab.encode({"exp": NOW}, SECRET)
    with pytest.raises(jwtlab.ExpiredSignatureError, match="expired 0 s ago"):
        decode(token)
    assert decode(token, leeway=1) == {"exp": NOW}
    assert decode(token, leeway=dt.timedelta(seconds=1)) == {"exp": NOW}
    with pytest.raises(jwtlab.ExpiredSignatureError, match="leeway 1 s"):
        decode(token, now=NOW + 1, leeway=1)


def test_not_yet_valid():
    token = jwtlab.encode({"nbf": NOW + 303}, SECRET)
    with pytest.raises(jwtlab.ImmatureSignatureError, match="becomes valid in 5 min 3 s"):
        decode(token)
    assert decode(token, leeway=303) == {"nbf": NOW + 303}


def test_issued_in_the_future():
    token = jwtlab.encode({"iat": NOW + 120}, SECRET)
    with pytest.raises(jwtlab.InvalidIssuedAtError, match="issued 2 min in the future") as caught:
        decode(token)
    assert isinstance(caught.value, jwtlab.ImmatureSignatureError)  # PyJWT's class for this
    assert decode(token, leeway=120) == {"iat": NOW + 120}


def test_audience():
    token = jwtlab.encode({"aud": ["api", "web"]}, SECRET)
    assert decode(token, audience="web") == {"aud": ["api", "web"]}
    assert decode(token, audience=["cli", "api"]) == {"aud": ["api", "web"]}
    with pytest.raises(jwtlab.InvalidAudienceError, match="not to 'cli'"):
        decode(token, audience="cli")
    with pytest.raises(jwtlab.InvalidAudienceError, match="was not told who is reading"):
        decode(token)
    with pytest.raises(jwtlab.MissingRequiredClaimError, match="no 'aud' claim"):
        decode(jwtlab.encode({"a": 1}, SECRET), audience="api")
    with pytest.raises(jwtlab.InvalidAudienceError, match="array of strings"):
        decode(jwtlab.encode({"aud": [1]}, SECRET), audience="api")


def test_issuer():
    token = jwtlab.encode({"iss": "https://login.example"}, SECRET)
    assert decode(token, issuer="https://login.example")["iss"] == "https://login.example"
    assert decode(token, issuer=["a", "https://login.example"])
    with pytest.raises(jwtlab.InvalidIssuerError, match=r"not by 'https://evil\.example'"):
        decode(token, issuer="https://evil.example")
    with pytest.raises(jwtlab.MissingRequiredClaimError, match="no 'iss' claim") as caught:
        decode(jwtlab.encode({"a": 1}, SECRET), issuer="x")
    assert caught.value.claim == "iss"
    with pytest.raises(jwtlab.InvalidIssuerError, match="iss must be a string"):
        decode(jwtlab.encode({"iss": 7}, SECRET))


def test_subject():
    token = jwtlab.encode({"sub": "alice"}, SECRET)
    assert decode(token, subject="alice") == {"sub": "alice"}
    with pytest.raises(jwtlab.InvalidSubjectError, match="not 'bob'"):
        decode(token, subject="bob")
    with pytest.raises(jwtlab.InvalidSubjectError, match="str\\(user_id\\)"):
        decode(jwtlab.encode({"sub": 42}, SECRET))


def test_jti_must_be_a_string():
    assert decode(jwtlab.encode({"jti": "x1"}, SECRET)) == {"jti": "x1"}
    with pytest.raises(jwtlab.InvalidJTIError, match="jti must be a string"):
        decode(jwtlab.encode({"jti": 7}, SECRET))


def test_require():
    token = jwtlab.encode({"sub": "a"}, SECRET)
    assert decode(token, require=["sub"]) == {"sub": "a"}
    with pytest.raises(jwtlab.MissingRequiredClaimError, match="no 'exp' claim but it is required"):
        decode(token, require=["sub", "exp"])


# --- key sets --------------------------------------------------------------------------------


def test_key_set_picks_by_kid_and_says_when_it_cannot(ec_key):
    keys = jwk.key_set([ec_key])
    kid = keys.keys[0]["kid"]
    token = jwtlab.encode({"a": 1}, ec_key, algorithm="ES256", headers={"kid": kid})
    assert jwtlab.decode(token, keys, ["ES256"]) == {"a": 1}
    assert jwtlab.decode(token, keys.as_dict(), ["ES256"]) == {"a": 1}
    other = jwtlab.encode({"a": 1}, ec_key, algorithm="ES256", headers={"kid": "gone"})
    with pytest.raises(jwtlab.KeyNotFoundError, match="no key in the key set has kid 'gone'"):
        jwtlab.decode(other, keys, ["ES256"])


# --- the refusal contract (issue 11): whatever the token controls is an InvalidTokenError ---

HUGE_INTEGER = 10**400  # 401 digits: too big for a float, so exp - now overflowed before


@pytest.mark.parametrize(
    "payload_json",
    [
        b'{"exp":' + str(HUGE_INTEGER).encode() + b"}",
        b'{"exp":-' + str(HUGE_INTEGER).encode() + b"}",
        b'{"exp":1e400}',
        b'{"nbf":-1e400}',
        b'{"n":1e999}',
        b'{"n":[' + str(HUGE_INTEGER).encode() + b"]}",
    ],
)
def test_numbers_beyond_a_double_are_refused_before_any_arithmetic(payload_json):
    with pytest.raises(jwtlab.NumberOutOfRangeError, match="RFC 7493"):
        decode(forge(HS256, payload_json))
    with pytest.raises(jwtlab.NumberOutOfRangeError):
        jwtlab.inspect(forge(HS256, payload_json), now=NOW)


@pytest.mark.parametrize("exp", [10**20, -(10**20), 1e300, 10**300])
def test_numeric_dates_out_of_any_range_are_refused_without_overflow(exp):
    with pytest.raises(jwtlab.InvalidNumericDateError, match="out of range") as caught:
        decode(forge(HS256, {"exp": exp}))
    assert len(str(caught.value)) < 300
    shown = jwtlab.inspect(forge(HS256, {"exp": exp}), now=NOW)
    assert "out of range" in str(shown)


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        (HS256, b'{"sub":"\\ud800"}'),
        (HS256, b'{"\\udfff":1}'),
        (HS256, b'{"a":["ok","x\\udc00y"]}'),
        (HS256, b'{"a":"\\ude00\\ud83d"}'),  # a pair in the wrong order is two lone halves
        (b'{"alg":"HS256","kid":"\\ud800"}', {"a": 1}),
    ],
)
def test_lone_surrogates_are_refused_anywhere(header, payload):
    token = forge(header, payload)
    with pytest.raises(jwtlab.InvalidUnicodeError, match="lone surrogate"):
        decode(token)
    with pytest.raises(jwtlab.InvalidUnicodeError):
        jwtlab.inspect(token)


def test_an_escaped_surrogate_pair_is_one_character_and_accepted():
    assert decode(forge(HS256, b'{"smile":"\\ud83d\\ude00"}')) == {"smile": "\U0001f600"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("kid", 5),
        ("kid", None),
        ("typ", 1),
        ("cty", ["JWT"]),
        ("jku", {}),
        ("x5u", 2),
        ("x5t", False),
        ("x5t#S256", 1.5),
        ("x5c", "MIIB"),
        ("x5c", [1, 2]),
        ("jwk", "not an object"),
        ("b64", "true"),
        ("crit", "b64"),
        ("crit", []),
        ("crit", ["b64", "b64"]),
    ],
)
def test_header_parameters_have_their_registered_types(name, value):
    header = {**HS256, name: value}
    if name == "crit" and isinstance(value, list):
        header["b64"] = True
    with pytest.raises(jwtlab.InvalidHeaderError, match=r"RFC 7515 §4\.1"):
        decode(forge(header, {"a": 1}))
    assert any(name in warning for warning in jwtlab.inspect(forge(header, {"a": 1})).warnings)


@pytest.mark.parametrize(
    "crit", [["alg"], ["exp"], ["missing"]], ids=["spec-defined", "unknown", "absent"]
)
def test_crit_names_only_present_extensions(crit):
    header = {**HS256, "crit": crit, "exp": 1}
    with pytest.raises(jwtlab.DecodeError, match="crit"):
        decode(forge(header, {"a": 1}))


def test_crit_b64_with_b64_true_is_understood_and_accepted():
    # RFC 7797 §6: b64 listed in crit; true means the ordinary base64url payload.
    header = {**HS256, "b64": True, "crit": ["b64"]}
    assert decode(forge(header, {"a": 1})) == {"a": 1}
    token = jwtlab.encode({"a": 1}, SECRET, headers={"b64": True, "crit": ["b64"]})
    assert decode(token) == {"a": 1}


@pytest.mark.parametrize(
    "headers",
    [
        {"b64": False, "crit": ["b64"]},
        {"crit": ["exp"], "exp": 1},
        {"kid": 7},
        {"typ": ["JWT"]},
        {"kid": "\ud800"},
    ],
)
def test_encode_refuses_a_header_its_own_decode_would_refuse(headers):
    with pytest.raises(ValueError, match="decode\\(\\) would refuse"):
        jwtlab.encode({"a": 1}, SECRET, headers=headers)
    with pytest.raises(ValueError, match="decode\\(\\) would refuse"):
        jwtlab.build({"a": 1}, SECRET, headers=headers)


def test_encode_refuses_claims_its_own_decode_would_refuse():
    with pytest.raises(ValueError, match="lone surrogate"):
        jwtlab.encode({"sub": "\udc80"}, SECRET)
    with pytest.raises(ValueError, match="RFC 7493"):
        jwtlab.encode({"n": HUGE_INTEGER}, SECRET)


def test_typ_none_is_left_out_as_pyjwt_does():
    token = jwtlab.encode({"a": 1}, SECRET, headers={"typ": None})
    assert jwtlab.get_unverified_header(token) == {"alg": "HS256"}
    assert token == pyjwt.encode({"a": 1}, SECRET, headers={"typ": None})


def test_require_as_a_string_is_a_type_error_not_three_letters():
    token = jwtlab.encode({"exp": NOW + 60}, SECRET)
    with pytest.raises(TypeError, match="list of claim names"):
        decode(token, require="exp")
    with pytest.raises(TypeError, match="claim names"):
        decode(token, require=[b"exp"])
    assert decode(token, require=["exp"]) == {"exp": NOW + 60}


def decode_with(token, key, algorithms):
    return jwtlab.decode(token, key, algorithms, now=NOW)


def test_a_kid_that_is_not_in_the_key_set_is_a_token_error():
    keys = jwk.key_set([jwk.to_jwk(SECRET, kid="2026-01")], public=False)
    with pytest.raises(jwtlab.InvalidTokenError, match="no key in the key set has kid"):
        decode_with(forge({**HS256, "kid": "2025-12"}, {"a": 1}), keys, ["HS256"])
    two = jwk.key_set(
        [jwk.to_jwk(SECRET, kid="a"), jwk.to_jwk(SECRET[::-1], kid="b")], public=False
    )
    with pytest.raises(jwtlab.KeyNotFoundError) as caught:
        decode_with(forge(HS256, {"a": 1}), two, ["HS256"])
    assert isinstance(caught.value, jwtlab.InvalidTokenError)


def test_a_key_the_tokens_alg_chose_that_does_not_fit_is_a_token_error():
    ec_private = ec.generate_private_key(ec.SECP256R1())
    token = jwtlab.encode({"a": 1}, ec_private, algorithm="ES256")
    rsa_public = rsa_key().public_key()
    with pytest.raises(jwtlab.KeyMismatchError, match="the token chose alg ES256") as caught:
        decode_with(token, rsa_public, ["RS256", "ES256"])
    assert isinstance(caught.value, jwtlab.InvalidTokenError)
    # With one algorithm and one key the misfit is the caller's: a key error only.
    with pytest.raises(jwtlab.InvalidKeyError) as caught:
        decode_with(jwtlab.encode({"a": 1}, SECRET[:8], allow_weak_key=True), SECRET[:8], ["HS256"])
    assert not isinstance(caught.value, jwtlab.InvalidTokenError)


def test_a_key_the_tokens_kid_chose_that_does_not_fit_is_a_token_error():
    ec_private = ec.generate_private_key(ec.SECP256R1())
    rsa_public = rsa_key().public_key()
    keys = jwk.key_set([jwk.to_jwk(rsa_public, kid="rsa"), jwk.to_jwk(ec_private, kid="ec")])
    token = jwtlab.encode({"a": 1}, ec_private, algorithm="ES256", headers={"kid": "rsa"})
    with pytest.raises(jwtlab.KeyMismatchError, match="kid 'rsa'"):
        decode_with(token, keys, ["ES256"])


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "jti", "exp"])
def test_messages_echo_attacker_input_only_in_bounded_form(claim):
    flood = "A" * 5000 if claim != "exp" else "9" * 300
    value: object = [flood] if claim == "jti" else flood
    payload = {claim: value, "iss": "x"} if claim != "iss" else {claim: [flood]}
    with pytest.raises(jwtlab.InvalidTokenError) as caught:
        decode(forge(HS256, payload), audience="me", issuer="x")
    assert len(str(caught.value)) < 600, str(caught.value)[:200]


def test_a_flooded_alg_and_kid_are_echoed_shortened():
    with pytest.raises(jwtlab.InvalidAlgorithmError) as caught:
        decode(forge({"alg": "H" * 5000}, {"a": 1}))
    assert len(str(caught.value)) < 300
    keys = jwk.key_set([jwk.to_jwk(SECRET, kid="k")], public=False)
    with pytest.raises(jwtlab.KeyNotFoundError) as caught:
        decode_with(forge({**HS256, "kid": "K" * 5000}, {"a": 1}), keys, ["HS256"])
    assert len(str(caught.value)) < 400
