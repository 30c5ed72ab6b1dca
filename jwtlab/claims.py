"""Claims: registered, public and private; NumericDate; validation (RFC 7519 §4, §7.2).

RFC 7519 §4 sorts claim names three ways:

- **registered** (§4.1): ``iss``, ``sub``, ``aud``, ``exp``, ``nbf``, ``iat``, ``jti`` —
  short on purpose, none mandatory, each with a meaning every JWT library checks;
- **public** (§4.2): names registered with IANA (``email``, ``name``, ...) or
  collision-resistant names such as a URI you control (``https://example.com/role``);
- **private** (§4.3): anything else, agreed between one producer and its consumers.

A time claim is a NumericDate (§2): a JSON number of *seconds* since
1970-01-01T00:00:00Z. A value such as 1480849147370 is milliseconds (it would be the
year ~48896 as seconds) and is refused, with the arithmetic that fixes it.

Every function that needs the current time takes ``now=``: ``None`` for the clock, or
epoch seconds (int/float), or an aware ``datetime``.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from jwtlab.errors import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidJTIError,
    InvalidNumericDateError,
    InvalidSubjectError,
    IssuedInTheFutureError,
    MillisecondNumericDateError,
    MissingRequiredClaimError,
    excerpt,
)

#: What ``now=`` accepts everywhere: None for the clock, epoch seconds, an aware datetime.
Now: TypeAlias = "int | float | dt.datetime | None"
#: What ``leeway=`` accepts: seconds or a timedelta.
Leeway: TypeAlias = "int | float | dt.timedelta"
#: What a time claim is made from (:func:`numeric_date`): an aware datetime, a timedelta
#: from ``now``, or epoch seconds.
NumericDateLike: TypeAlias = "int | float | dt.datetime | dt.timedelta"

__all__ = [
    "MILLISECONDS_THRESHOLD",
    "NUMERIC_DATE_LIMIT",
    "PUBLIC_CLAIMS",
    "REGISTERED_CLAIMS",
    "TIME_CLAIMS",
    "Leeway",
    "Now",
    "NumericDateLike",
    "classify",
    "describe_duration",
    "explain_milliseconds",
    "format_utc",
    "numeric_date",
    "registered",
    "resolve_now",
    "to_datetime",
    "validate",
    "with_private",
    "with_public",
]

UTC = dt.UTC

REGISTERED_CLAIMS: dict[str, str] = {
    "iss": "Issuer: who issued the token (RFC 7519 §4.1.1)",
    "sub": "Subject: whom the token is about, unique within the issuer (§4.1.2)",
    "aud": "Audience: the recipients the token is meant for (§4.1.3)",
    "exp": "Expiration Time: reject the token at or after this time (§4.1.4)",
    "nbf": "Not Before: reject the token before this time (§4.1.5)",
    "iat": "Issued At: when the token was issued (§4.1.6)",
    "jti": "JWT ID: a unique identifier, e.g. to prevent replay (§4.1.7)",
}
TIME_CLAIMS = ("exp", "nbf", "iat")

# A selection of the IANA "JSON Web Token Claims" registry (RFC 7519 §10.1), the names a
# student meets most; any name containing ':' (a URI, a namespaced name) is public too.
PUBLIC_CLAIMS: dict[str, str] = {
    "name": "full name (OpenID Connect Core §5.1)",
    "given_name": "given name (OpenID Connect Core §5.1)",
    "family_name": "surname (OpenID Connect Core §5.1)",
    "middle_name": "middle name (OpenID Connect Core §5.1)",
    "nickname": "casual name (OpenID Connect Core §5.1)",
    "preferred_username": "shorthand name (OpenID Connect Core §5.1)",
    "profile": "profile page URL (OpenID Connect Core §5.1)",
    "picture": "profile picture URL (OpenID Connect Core §5.1)",
    "website": "web page URL (OpenID Connect Core §5.1)",
    "email": "e-mail address (OpenID Connect Core §5.1)",
    "email_verified": "whether the e-mail address was verified (OpenID Connect Core §5.1)",
    "gender": "gender (OpenID Connect Core §5.1)",
    "birthdate": "birthday (OpenID Connect Core §5.1)",
    "zoneinfo": "time zone (OpenID Connect Core §5.1)",
    "locale": "locale (OpenID Connect Core §5.1)",
    "phone_number": "phone number (OpenID Connect Core §5.1)",
    "phone_number_verified": "whether the phone number was verified (OpenID Connect Core)",
    "address": "postal address (OpenID Connect Core §5.1)",
    "updated_at": "time the information was last updated (OpenID Connect Core §5.1)",
    "azp": "authorized party (OpenID Connect Core §2)",
    "nonce": "value binding a client session to an ID token (OpenID Connect Core §2)",
    "auth_time": "time the user authenticated (OpenID Connect Core §2)",
    "at_hash": "access token hash (OpenID Connect Core §3.1.3.6)",
    "c_hash": "code hash (OpenID Connect Core §3.3.2.11)",
    "acr": "authentication context class reference (OpenID Connect Core §2)",
    "amr": "authentication methods references (OpenID Connect Core §2)",
    "sid": "session ID (OpenID Connect Front-Channel Logout §3)",
    "cnf": "confirmation key (RFC 7800 §3.1)",
    "act": "actor (RFC 8693 §4.1)",
    "scope": "scope values (RFC 8693 §4.2)",
    "client_id": "client identifier (RFC 8693 §4.3)",
    "may_act": "authorized actor (RFC 8693 §4.4)",
    "events": "security events (RFC 8417 §2.2)",
    "roles": "roles (RFC 7643 §4.1.2, RFC 9068 §2.2.3.1)",
    "groups": "groups (RFC 7643 §4.1.2, RFC 9068 §2.2.3.1)",
    "entitlements": "entitlements (RFC 7643 §4.1.2, RFC 9068 §2.2.3.1)",
}

# 10**11 seconds is the year 5138; 10**11 milliseconds is March 1973. Any NumericDate
# this large is therefore almost certainly a count of milliseconds.
MILLISECONDS_THRESHOLD = 100_000_000_000
# Beyond this even milliseconds make no sense (year ~5138 as milliseconds), and the number
# is refused before any arithmetic: a 401-digit exp cannot even be divided into a float.
NUMERIC_DATE_LIMIT = 1000 * MILLISECONDS_THRESHOLD


def classify(name: str) -> str:
    """Return ``"registered"``, ``"public"`` or ``"private"`` (RFC 7519 §4.1–§4.3)."""
    if name in REGISTERED_CLAIMS:
        return "registered"
    if name in PUBLIC_CLAIMS or ":" in name:
        return "public"
    return "private"


# --- time -------------------------------------------------------------------------------


def resolve_now(now: Now = None) -> float:
    """The current time as epoch seconds: the clock if ``now`` is None, else ``now``.

    ``now`` may be int/float epoch seconds or an aware ``datetime``; a naive datetime is
    refused because it does not say which time zone it is in.
    """
    if now is None:
        return time.time()
    if isinstance(now, bool):
        raise TypeError("now= must be epoch seconds or an aware datetime, not a bool")
    if isinstance(now, int | float):
        return float(now)
    if isinstance(now, dt.datetime):
        if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
            raise ValueError(
                f"now={now!r} is a naive datetime, so its time zone is unknown; "
                "give it one, e.g. now.replace(tzinfo=datetime.timezone.utc)"
            )
        return now.timestamp()
    raise TypeError(f"now= must be epoch seconds or an aware datetime, not {type(now).__name__}")


def _seconds(leeway: Leeway) -> float:
    if isinstance(leeway, dt.timedelta):
        return leeway.total_seconds()
    if isinstance(leeway, int | float) and not isinstance(leeway, bool):
        return float(leeway)
    raise TypeError(f"leeway= must be seconds or a timedelta, not {type(leeway).__name__}")


def numeric_date(value: NumericDateLike, *, now: Now = None) -> int | float:
    """Make a NumericDate (RFC 7519 §2) from an aware datetime, a timedelta or a number.

    - an aware ``datetime`` becomes whole seconds since the epoch;
    - a ``timedelta`` counts from ``now`` (``timedelta(minutes=30)``: in 30 minutes);
    - an int/float is checked and returned; one that looks like milliseconds is refused.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(
                f"{value!r} is a naive datetime: its time zone is unknown; "
                "use datetime.now(timezone.utc) or add tzinfo=timezone.utc"
            )
        return int(value.timestamp())
    if isinstance(value, dt.timedelta):
        return int(resolve_now(now) + value.total_seconds())
    if isinstance(value, int | float) and not isinstance(value, bool):
        if abs(value) >= MILLISECONDS_THRESHOLD:
            raise ValueError(explain_milliseconds("value", value))
        return value
    raise TypeError(
        f"a NumericDate is made from an aware datetime, a timedelta or a number of seconds, "
        f"not {type(value).__name__}"
    )


def to_datetime(value: int | float) -> dt.datetime:
    """The UTC datetime of a NumericDate."""
    return dt.datetime.fromtimestamp(value, tz=UTC)


def format_utc(value: int | float) -> str:
    """``2026-01-01T10:00:00Z``: ISO 8601 in UTC, fractions kept only if present."""
    try:
        moment = to_datetime(value)
    except (OverflowError, OSError, ValueError):
        return f"year ~{1970 + value / 31_556_952:.0f}"
    text = moment.isoformat(timespec="microseconds" if value % 1 else "seconds")
    if "." in text:
        text = text.replace("+00:00", "").rstrip("0").rstrip(".") + "+00:00"
    return text.replace("+00:00", "Z")


def describe_duration(seconds: float) -> str:
    """``42 s``, ``5 min 3 s``, ``2 h 5 min``, ``3 d 4 h``: for people, not machines."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds % 1 else f"{int(seconds)} s"
    whole = int(seconds)
    units = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for label, size in units:
        amount, whole = divmod(whole, size)
        if amount or parts:
            parts.append(f"{amount} {label}")
        if len(parts) == 2:
            break
    return " ".join(part for part in parts if not part.startswith("0 ")) or "0 s"


def explain_milliseconds(name: str, value: float) -> str:
    seconds = value / 1000
    as_seconds = int(seconds) if float(seconds).is_integer() or isinstance(value, int) else seconds
    return (
        f"{name}={value} looks like milliseconds since the epoch, not seconds (as seconds it "
        f"would be the year ~{1970 + value / 31_556_952:.0f}); a NumericDate counts seconds "
        f"(RFC 7519 §2): divide by 1000 -> {as_seconds} ({format_utc(as_seconds)})"
    )


# --- making claims ----------------------------------------------------------------------


def registered(
    *,
    issuer: str | None = None,
    subject: str | None = None,
    audience: str | list[str] | None = None,
    expires: NumericDateLike | bool | None = None,
    not_before: NumericDateLike | bool | None = None,
    issued_at: NumericDateLike | bool | None = None,
    jwt_id: str | bool | None = None,
    now: Now = None,
) -> dict[str, Any]:
    """Build the registered claims (RFC 7519 §4.1), leaving out those not given.

    Times accept an aware datetime, a timedelta from ``now`` or epoch seconds;
    ``issued_at=True`` means ``now``; ``jwt_id=True`` makes a random UUID.

    >>> registered(subject="alice", issued_at=True, expires=dt.timedelta(minutes=5), now=0)
    {'sub': 'alice', 'exp': 300, 'iat': 0}
    """
    names = {"iss": issuer, "sub": subject, "aud": audience}
    result: dict[str, Any] = {name: value for name, value in names.items() if value is not None}
    for name, value in (("exp", expires), ("nbf", not_before), ("iat", issued_at)):
        if value is True:
            result[name] = int(resolve_now(now))
        elif value is not None:
            result[name] = numeric_date(value, now=now)
    if jwt_id is True:
        result["jti"] = uuid.uuid4().hex
    elif jwt_id is not None and jwt_id is not False:
        result["jti"] = jwt_id
    return result


def with_public(claims: Mapping[str, Any], public: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``claims`` plus ``public`` claims, checking every name is collision-resistant.

    A public name is registered with IANA (``email``) or is collision-resistant, such as
    a URI in a domain you control: ``{"https://example.com/is_admin": True}`` (§4.2).
    """
    for name in public:
        if classify(name) != "public":
            raise ValueError(
                f"{name!r} is not a public claim name: it must be registered with IANA "
                "or collision-resistant, e.g. 'https://example.com/" + name + "' "
                "(RFC 7519 §4.2); for a name only your own server and clients share, "
                "use with_private()"
            )
    return {**claims, **public}


def with_private(claims: Mapping[str, Any], private: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``claims`` plus ``private`` claims (RFC 7519 §4.3), refusing taken names."""
    for name in private:
        kind = classify(name)
        if kind != "private":
            raise ValueError(
                f"{name!r} is a {kind} claim name with a meaning of its own "
                f"({(REGISTERED_CLAIMS | PUBLIC_CLAIMS).get(name, 'a URI')}); "
                "choose another name for a private claim (RFC 7519 §4.3)"
            )
    return {**claims, **private}


# --- validating claims (RFC 7519 §7.2 step 10 onwards) ----------------------------------


def validate(
    payload: dict[str, Any],
    *,
    now: Now = None,
    leeway: Leeway = 0,
    audience: str | Iterable[str] | None = None,
    issuer: str | Iterable[str] | None = None,
    subject: str | None = None,
    require: Iterable[str] = (),
) -> None:
    """Check the claims of a verified token; raise the matching error on the first problem.

    ``require`` is a list of claim names; a bare string is a TypeError, because
    ``require="exp"`` would otherwise quietly require the claims "e", "x" and "p".
    """
    require = _required_names(require)
    _validate_required(payload, require)
    _validate_numeric_dates(payload)
    current = resolve_now(now)
    allowance = _seconds(leeway)
    if "exp" in payload:
        _validate_exp(payload["exp"], current, allowance)
    if "nbf" in payload:
        _validate_nbf(payload["nbf"], current, allowance)
    if "iat" in payload:
        _validate_iat(payload["iat"], current, allowance)
    _validate_iss(payload, issuer)
    _validate_sub(payload, subject)
    _validate_aud(payload, audience)
    _validate_jti(payload)


def _required_names(require: Iterable[str]) -> tuple[str, ...]:
    if isinstance(require, str | bytes):
        raise TypeError(
            f"require= must be a list of claim names such as [{require!r}], not the string "
            f"{require!r}, which would be read as its letters"
        )
    names = tuple(require)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"require= holds claim names (strings), not {name!r}")
    return names


def _validate_required(payload: dict[str, Any], require: Iterable[str]) -> None:
    for name in require:
        if name not in payload:
            raise MissingRequiredClaimError(name)


def _validate_numeric_dates(payload: dict[str, Any]) -> None:
    for name in TIME_CLAIMS:
        if name not in payload:
            continue
        value = payload[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = (
                f"the boolean {str(value).lower()}"
                if isinstance(value, bool)
                else f"the {_json_type(value)} {excerpt(value)}"
            )
            raise InvalidNumericDateError(
                f"{name} must be a NumericDate, a JSON number of seconds since "
                f"1970-01-01T00:00:00Z (RFC 7519 §2), but it is {kind}; "
                "the issuer must write it as a number"
            )
        check_numeric_date_range(name, value)


def check_numeric_date_range(name: str, value: int | float) -> None:
    """Refuse a NumericDate that counts milliseconds, or is too large for any arithmetic.

    Compares only (exact for ints of any size, and for floats); nothing is computed from
    a value before it is known to be finite and in range.
    """
    if value != value or not -NUMERIC_DATE_LIMIT < value < NUMERIC_DATE_LIMIT:  # NaN, inf too
        raise InvalidNumericDateError(
            f"{name}={excerpt(value)} is out of range: a NumericDate counts seconds since "
            f"1970 (RFC 7519 §2) and jwtlab reads values under {MILLISECONDS_THRESHOLD:.0e} "
            "(the year 5138); the issuer wrote something that is not a time"
        )
    if abs(value) >= MILLISECONDS_THRESHOLD:
        raise MillisecondNumericDateError(explain_milliseconds(name, value))


def _json_type(value: object) -> str:
    names = {str: "string", list: "array", dict: "object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _leeway_note(leeway: float) -> str:
    return f", leeway {describe_duration(leeway)}" if leeway else ""


def _validate_exp(exp: float, now: float, leeway: float) -> None:
    if now >= exp + leeway:
        raise ExpiredSignatureError(
            f"token expired {describe_duration(now - exp)} ago at {format_utc(exp)} "
            f"(exp={exp}{_leeway_note(leeway)}); issue a new one or allow leeway"
        )


def _validate_nbf(nbf: float, now: float, leeway: float) -> None:
    if now < nbf - leeway:
        raise ImmatureSignatureError(
            f"token is not valid yet: it becomes valid in {describe_duration(nbf - now)}, at "
            f"{format_utc(nbf)} (nbf={nbf}{_leeway_note(leeway)}); wait, check that the "
            "clocks agree, or allow leeway"
        )


def _validate_iat(iat: float, now: float, leeway: float) -> None:
    if iat > now + leeway:
        raise IssuedInTheFutureError(
            f"token says it was issued {describe_duration(iat - now)} in the future, at "
            f"{format_utc(iat)} (iat={iat}{_leeway_note(leeway)}); the issuer's clock is "
            "ahead of this one: fix the clocks or allow leeway"
        )


def _as_choices(expected: str | Iterable[str]) -> list[str]:
    return [expected] if isinstance(expected, str) else list(expected)


def _validate_iss(payload: dict[str, Any], issuer: str | Iterable[str] | None) -> None:
    if "iss" in payload and not isinstance(payload["iss"], str):
        raise InvalidIssuerError(
            f"iss must be a string (RFC 7519 §4.1.1), not the {_json_type(payload['iss'])} "
            f"{excerpt(payload['iss'])}"
        )
    if issuer is None:
        return
    choices = _as_choices(issuer)
    if "iss" not in payload:
        raise MissingRequiredClaimError(
            "iss", f"the token has no 'iss' claim, but issuer={issuer!r} was asked for"
        )
    if payload["iss"] not in choices:
        raise InvalidIssuerError(
            f"token was issued by {excerpt(payload['iss'])}, not by {issuer!r}; accept only tokens "
            "from issuers you trust (RFC 7519 §4.1.1)"
        )


def _validate_sub(payload: dict[str, Any], subject: str | None) -> None:
    if "sub" in payload and not isinstance(payload["sub"], str):
        raise InvalidSubjectError(
            f"sub must be a string (RFC 7519 §4.1.2), not the {_json_type(payload['sub'])} "
            f"{excerpt(payload['sub'])}; issue it as a string, e.g. str(user_id)"
        )
    if subject is None:
        return
    if "sub" not in payload:
        raise MissingRequiredClaimError(
            "sub", f"the token has no 'sub' claim, but subject={subject!r} was asked for"
        )
    if payload["sub"] != subject:
        raise InvalidSubjectError(
            f"token is about subject {excerpt(payload['sub'])}, not {subject!r} (RFC 7519 §4.1.2)"
        )


def _validate_aud(payload: dict[str, Any], audience: str | Iterable[str] | None) -> None:
    if "aud" not in payload:
        if audience is not None:
            raise MissingRequiredClaimError(
                "aud",
                f"the token has no 'aud' claim, but audience={audience!r} was asked for; "
                "issue tokens naming their audience",
            )
        return
    aud = payload["aud"]
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(item, str) for item in audiences):
        raise InvalidAudienceError(
            f"aud must be a string or an array of strings (RFC 7519 §4.1.3), not {excerpt(aud)}"
        )
    if audience is None:
        raise InvalidAudienceError(
            f"token is addressed to audience {excerpt(aud)}, but decode() was not told who "
            "is reading it; a recipient must find itself in aud (RFC 7519 §4.1.3): pass "
            f"audience={excerpt(audiences[0])} if that is you"
            if audiences
            else "token has an empty aud: it is addressed to no one (RFC 7519 §4.1.3)"
        )
    if not set(_as_choices(audience)) & set(audiences):
        raise InvalidAudienceError(
            f"token is addressed to audience {excerpt(aud)}, not to {audience!r}; it was issued "
            "for another recipient and must be refused (RFC 7519 §4.1.3)"
        )


def _validate_jti(payload: dict[str, Any]) -> None:
    if "jti" in payload and not isinstance(payload["jti"], str):
        raise InvalidJTIError(
            f"jti must be a string (RFC 7519 §4.1.7), not the {_json_type(payload['jti'])} "
            f"{excerpt(payload['jti'])}"
        )
