"""Claims helpers, classification and NumericDate (RFC 7519 §2, §4)."""

from __future__ import annotations

import datetime as dt

import pytest

from jwtlab import claims

NOW = 1_767_261_600  # 2026-01-01T10:00:00Z
UTC = dt.UTC


def test_registered_from_datetimes_and_timedeltas():
    made = claims.registered(
        issuer="https://login.example",
        subject="alice",
        audience="api",
        expires=dt.timedelta(minutes=30),
        not_before=dt.datetime(2026, 1, 1, 10, tzinfo=UTC),
        issued_at=True,
        jwt_id="id-1",
        now=NOW,
    )
    assert made == {
        "iss": "https://login.example",
        "sub": "alice",
        "aud": "api",
        "exp": NOW + 1800,
        "nbf": NOW,
        "iat": NOW,
        "jti": "id-1",
    }


def test_registered_leaves_out_what_is_not_given_and_makes_random_ids():
    assert claims.registered(subject="a") == {"sub": "a"}
    first, second = (claims.registered(jwt_id=True)["jti"] for _ in range(2))
    assert len(first) == 32 and first != second


def test_numeric_date():
    assert (
        claims.numeric_date(dt.datetime(2026, 1, 1, 19, tzinfo=dt.timezone(dt.timedelta(hours=9))))
        == NOW
    )
    assert claims.numeric_date(dt.timedelta(seconds=5), now=NOW) == NOW + 5
    assert claims.numeric_date(NOW) == NOW
    with pytest.raises(ValueError, match="naive datetime"):
        claims.numeric_date(dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="looks like milliseconds"):
        claims.numeric_date(1480849147370)
    with pytest.raises(TypeError, match="not str"):
        claims.numeric_date("2026-01-01")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("exp", "registered"),
        ("jti", "registered"),
        ("email", "public"),
        ("https://mangkyu.tistory.com", "public"),
        ("urn:example:role", "public"),
        ("team", "private"),
    ],
)
def test_classify(name, kind):
    assert claims.classify(name) == kind


def test_with_public_and_with_private():
    base = {"sub": "a"}
    made = claims.with_public(base, {"https://example.com/is_admin": True, "email": "a@b"})
    made = claims.with_private(made, {"team": "blue"})
    assert made == {
        "sub": "a",
        "https://example.com/is_admin": True,
        "email": "a@b",
        "team": "blue",
    }
    assert base == {"sub": "a"}  # a new dict; the original is untouched
    with pytest.raises(ValueError, match=r"'https://example\.com/role'"):
        claims.with_public(base, {"role": "admin"})
    with pytest.raises(ValueError, match="'exp' is a registered claim name"):
        claims.with_private(base, {"exp": 1})
    with pytest.raises(ValueError, match="'email' is a public claim name"):
        claims.with_private(base, {"email": "x"})


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (42, "42 s"),
        (1.5, "1.5 s"),
        (303, "5 min 3 s"),
        (7500, "2 h 5 min"),
        (273600, "3 d 4 h"),
    ],
)
def test_describe_duration(seconds, text):
    assert claims.describe_duration(seconds) == text


def test_format_utc():
    assert claims.format_utc(NOW) == "2026-01-01T10:00:00Z"
    assert claims.format_utc(NOW + 0.25) == "2026-01-01T10:00:00.25Z"
    assert claims.format_utc(10**15).startswith("year ~")


def test_resolve_now():
    assert claims.resolve_now(NOW) == NOW
    assert claims.resolve_now(dt.datetime(2026, 1, 1, 10, tzinfo=UTC)) == NOW
    with pytest.raises(TypeError, match="not a bool"):
        claims.resolve_now(True)
    with pytest.raises(TypeError, match="not str"):
        claims.resolve_now("now")
