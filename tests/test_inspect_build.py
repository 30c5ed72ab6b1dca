"""build(): the steps of making a token; inspect(): an unverified explanation."""

from __future__ import annotations

import datetime as dt

import pytest
from jwt_keys import ALL_ALGORITHMS, hmac_signed, keys_for

import jwtlab
from jwtlab.explain import COLOURS

NOW = 1_767_261_600  # 2026-01-01T10:00:00Z
CLAIMS = {"sub": "alice", "iat": NOW, "exp": NOW + 300}


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
def test_build_token_is_encodes_token(alg):
    signing_key, verifying_key = keys_for(alg)
    trace = jwtlab.build(CLAIMS, signing_key, algorithm=alg, headers={"kid": "k1"})
    token = jwtlab.encode(CLAIMS, signing_key, algorithm=alg, headers={"kid": "k1"})
    if alg.startswith(("PS", "ES")):  # randomized signatures: the signed part is the same
        assert trace.token.rsplit(".", 1)[0] == token.rsplit(".", 1)[0]
    else:
        assert trace.token == token
    assert jwtlab.decode(trace.token, verifying_key, [alg], now=NOW) == CLAIMS


def test_build_steps_in_the_order_of_the_spec():
    trace = jwtlab.build(CLAIMS, b"k" * 32)
    assert [step.name for step in trace.steps] == [
        "header as JSON",
        "header as base64url",
        "payload as JSON",
        "payload as base64url",
        "signing input",
        "signature",
        "signature as base64url",
        "token",
    ]
    header_json, header_b64, payload_json, payload_b64, signing, sign, sign_b64, token = trace.steps
    assert header_json.input == {"typ": "JWT", "alg": "HS256"}
    assert header_json.output == b'{"alg":"HS256","typ":"JWT"}'
    assert header_b64.input == header_json.output and header_b64.output == trace.header_segment
    assert payload_json.output == b'{"sub":"alice","iat":1767261600,"exp":1767261900}'
    assert payload_b64.output == trace.payload_segment
    assert signing.output == f"{trace.header_segment}.{trace.payload_segment}".encode()
    assert sign.input == signing.output and sign.output == trace.signature
    assert sign_b64.output == trace.signature_segment
    assert token.output == trace.token
    assert all(step.explanation.endswith(".") for step in trace.steps)
    assert "HMAC with SHA-256" in sign.explanation


def test_build_renders_as_html_and_text():
    trace = jwtlab.build({**CLAIMS, "note": "<script>"}, b"k" * 32)
    page = trace._repr_html_()
    for colour in COLOURS.values():
        assert colour in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    text = str(trace)
    assert text.startswith("build(HS256): 8 steps")
    assert "1. header as JSON" in text and trace.token in text
    assert repr(trace) == text


def test_build_turns_datetimes_into_numeric_dates():
    trace = jwtlab.build({"exp": dt.datetime(2026, 1, 1, 10, 5, tzinfo=dt.UTC)}, b"k" * 32)
    assert trace.payload == {"exp": NOW + 300}


def test_inspect_classifies_and_reads_times():
    token = jwtlab.encode(
        {
            **CLAIMS,
            "nbf": NOW - 60,
            "https://example.com/is_admin": False,
            "email": "a@example.com",
            "team": "blue",
        },
        b"k" * 32,
        headers={"kid": "2026-01"},
    )
    view = jwtlab.inspect(token, now=NOW + 100)
    kinds = {field.name: field.kind for field in view.claims}
    assert kinds == {
        "sub": "registered",
        "iat": "registered",
        "exp": "registered",
        "nbf": "registered",
        "https://example.com/is_admin": "public",
        "email": "public",
        "team": "private",
    }
    readings = {field.name: field.reading for field in view.claims}
    assert readings["exp"] == "2026-01-01T10:05:00Z, expires in 3 min 20 s"
    assert readings["iat"] == "2026-01-01T10:00:00Z, issued 1 min 40 s ago"
    assert readings["nbf"] == "2026-01-01T09:59:00Z, valid since 2 min 40 s ago"
    assert {field.name: field.kind for field in view.header_fields}["kid"] == "registered"
    assert view.warnings == ["not verified: inspect() reads a token, decode() checks it"]


def test_inspect_says_expired_ago():
    view = jwtlab.inspect(jwtlab.encode(CLAIMS, b"k" * 32), now=NOW + 3900)
    exp = next(field for field in view.claims if field.name == "exp")
    assert exp.reading == "2026-01-01T10:05:00Z, expired 1 h ago"


def test_inspect_accepts_an_aware_datetime_for_now():
    later = dt.datetime(2026, 1, 1, 10, 1, tzinfo=dt.UTC)
    view = jwtlab.inspect(jwtlab.encode(CLAIMS, b"k" * 32), now=later)
    assert view.now == NOW + 60


def test_inspect_flags_the_notes_millisecond_example():
    token = jwtlab.encode({"exp": 1480849147370}, b"k" * 32)
    view = jwtlab.inspect(token, now=NOW)
    (exp,) = view.claims
    assert "looks like milliseconds" in exp.warning
    assert exp.reading == "as milliseconds: 2016-12-04T10:59:07.37Z"
    assert any("divide by 1000 -> 1480849147" in warning for warning in view.warnings)


def test_inspect_flags_alg_none_and_future_iat_and_non_numbers():
    header = jwtlab.b64url_encode(b'{"alg":"none"}')
    payload = jwtlab.b64url_encode(b'{"iat":1767261700,"exp":"tomorrow"}')
    view = jwtlab.inspect(f"{header}.{payload}.", now=NOW)
    assert any("unsigned" in warning for warning in view.warnings)
    assert any("in the future" in warning for warning in view.warnings)
    assert any("not a NumericDate" in warning for warning in view.warnings)


def test_inspect_renders_as_html_and_text():
    view = jwtlab.inspect(jwtlab.encode({**CLAIMS, "team": "<b>"}, b"k" * 32), now=NOW)
    page = view._repr_html_()
    assert COLOURS["payload"] in page and "&lt;b&gt;" in page
    text = str(view)
    assert "sub = alice  [registered]" in text
    assert "team = <b>  [private]" in text
    assert "expires in 5 min" in text


def test_inspect_still_refuses_what_cannot_be_read():
    with pytest.raises(jwtlab.SegmentCountError):
        jwtlab.inspect("not-a-token")


# --- `jwtlab inspect` refuses hostile tokens cleanly (issue 11) ---------------------------


def _hostile_tokens() -> dict[str, bytes]:
    def signed(header: bytes, payload: bytes) -> bytes:
        return hmac_signed(header, payload, b"k" * 32).encode()

    return {
        "401-digit exp": signed(b'{"alg":"HS256"}', b'{"exp":' + b"9" * 401 + b"}"),
        "exp 1e400": signed(b'{"alg":"HS256"}', b'{"exp":1e400}'),
        "lone surrogate": signed(b'{"alg":"HS256"}', b'{"sub":"\\ud800"}'),
        "not UTF-8 on stdin": b"\xff\xfe" + signed(b'{"alg":"HS256"}', b"{}"),
    }


@pytest.mark.parametrize("case", _hostile_tokens())
def test_cli_inspect_prints_a_clean_error_not_a_traceback(case):
    import subprocess
    import sys

    token = _hostile_tokens()[case]
    completed = subprocess.run(
        [sys.executable, "-m", "jwtlab.cli", "inspect", "-"],
        input=token,
        capture_output=True,
        timeout=60,
        check=False,
    )
    stderr = completed.stderr.decode("utf-8", "replace")
    assert completed.returncode == 2, stderr
    assert stderr.startswith("jwtlab: not a readable JWT:"), stderr
    assert "Traceback" not in stderr and len(stderr) < 600, stderr


def test_inspect_explains_a_well_formed_but_wrongly_typed_header():
    token = jwtlab.encode({"a": 1}, b"k" * 32)
    _, payload, signature = token.split(".")
    odd = jwtlab.b64url_encode(b'{"alg":"HS256","kid":42,"typ":["JWT"]}')
    view = jwtlab.inspect(f"{odd}.{payload}.{signature}")
    assert any("kid must be a string" in warning for warning in view.warnings)
    assert "decode() refuses it" in str(view)
