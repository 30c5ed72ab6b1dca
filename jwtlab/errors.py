"""One exception hierarchy for every JWT error jwtlab raises.

The names mirror PyJWT's (``jwt.exceptions``) wherever PyJWT has one, so that what a
student learns here carries over. jwtlab adds finer subclasses, each for one reason a
token is refused; every one of them is still a subclass of the PyJWT-named class a
PyJWT user would catch. Catch :class:`InvalidTokenError` to refuse any bad token,
:class:`InvalidKeyError` for a key that cannot be used, or :class:`JwtlabError` for both.

The rule that decides which side an error is on: whatever the *token* controls (its
bytes, its ``alg`` among several allowed, its ``kid``) ends in an
:class:`InvalidTokenError`, so a server that catches it refuses every bad token; a key
error that the caller alone caused (a short secret, the wrong key type for the only
algorithm allowed) is an :class:`InvalidKeyError` only, so it surfaces as the
programming error it is instead of being mistaken for a bad token. Messages echo what a
token contains only in shortened form (:func:`excerpt`) and never key material::

    JwtlabError
    ├── InvalidKeyError                 the key does not fit the algorithm
    │   ├── WeakKeyError                HMAC secret shorter than the hash, RSA < 2048 bits
    │   ├── KeyNotFoundError            (also an InvalidTokenError) no key has the token's kid
    │   ├── KeyMismatchError            (also an InvalidTokenError) the key the token chose
    │   │                               (by alg or kid) does not fit its alg
    │   └── AlgorithmConfusionError     (also an InvalidAlgorithmError) public key as HMAC secret
    └── InvalidTokenError
        ├── DecodeError                 the token is not well formed
        │   ├── TokenTooLargeError, SegmentCountError, Base64urlError
        │   ├── InvalidJSONError ── DuplicateMemberError, JSONNestingError,
        │   │                       InvalidUnicodeError, NumberOutOfRangeError
        │   ├── InvalidHeaderError      a header parameter of the wrong type (RFC 7515 §4.1)
        │   ├── UnsupportedCriticalHeaderError, UnencodedPayloadError
        │   ├── InvalidNumericDateError ── MillisecondNumericDateError
        │   └── InvalidSignatureError ── MalformedSignatureError
        ├── InvalidAlgorithmError ── UnsecuredAlgorithmError (alg: none)
        ├── ExpiredSignatureError, ImmatureSignatureError
        ├── InvalidIssuedAtError ── IssuedInTheFutureError (also an ImmatureSignatureError)
        ├── InvalidAudienceError, InvalidIssuerError, InvalidSubjectError, InvalidJTIError
        └── MissingRequiredClaimError
"""

from __future__ import annotations

__all__ = [
    "AlgorithmConfusionError",
    "Base64urlError",
    "DecodeError",
    "DuplicateMemberError",
    "ExpiredSignatureError",
    "ImmatureSignatureError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidHeaderError",
    "InvalidIssuedAtError",
    "InvalidIssuerError",
    "InvalidJSONError",
    "InvalidJTIError",
    "InvalidKeyError",
    "InvalidNumericDateError",
    "InvalidSignatureError",
    "InvalidSubjectError",
    "InvalidTokenError",
    "InvalidUnicodeError",
    "IssuedInTheFutureError",
    "JSONNestingError",
    "JwtlabError",
    "KeyMismatchError",
    "KeyNotFoundError",
    "MalformedSignatureError",
    "MillisecondNumericDateError",
    "MissingRequiredClaimError",
    "NumberOutOfRangeError",
    "SegmentCountError",
    "TokenTooLargeError",
    "UnencodedPayloadError",
    "UnsecuredAlgorithmError",
    "UnsupportedCriticalHeaderError",
    "WeakKeyError",
    "excerpt",
]

#: Longest echo of a token's content in an error message, in characters.
EXCERPT_LENGTH = 40


def excerpt(value: object, limit: int = EXCERPT_LENGTH) -> str:
    """``repr(value)`` cut to ``limit`` characters: how messages echo what a token holds.

    A token is attacker input: echoed whole, a 16 KiB claim would flood the logs. The
    repr of a huge integer is not even computed (Python refuses ints over 4300 digits).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    if isinstance(value, str | bytes) and len(value) > limit:
        value = value[: limit + 1]  # enough to know it is longer; repr stays cheap
    elif isinstance(value, list | dict) and len(value) > 8:
        return f"<a JSON {'array' if isinstance(value, list) else 'object'} of {len(value)} items>"
    try:
        text = repr(value)
    except ValueError:  # a nested integer too long to print
        return f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class JwtlabError(Exception):
    """Base of every error jwtlab raises about tokens and keys (PyJWT: ``PyJWTError``)."""


# --- keys -------------------------------------------------------------------------------


class InvalidKeyError(JwtlabError, ValueError):
    """The key cannot be used with this algorithm (wrong type, wrong curve, unreadable)."""


class WeakKeyError(InvalidKeyError):
    """The key is too weak for the algorithm (RFC 7518 §3.2 HMAC, §3.3 RSA)."""


# --- tokens -----------------------------------------------------------------------------


class InvalidTokenError(JwtlabError):
    """Base of every reason to refuse a token."""


class KeyNotFoundError(InvalidKeyError, InvalidTokenError):
    """A key set was given but none of its keys matches the token's ``kid``.

    Also an :class:`InvalidTokenError`: the token chose the ``kid`` (or left it out),
    so a server catching token errors must refuse it, not crash.
    """


class KeyMismatchError(InvalidKeyError, InvalidTokenError):
    """The key the token's ``alg`` or ``kid`` selected does not fit that algorithm.

    E.g. ``algorithms=["RS256", "ES256"]`` with an RSA key and a token saying ES256, or a
    ``kid`` naming an EC key in a set while the token says RS256. The token made the
    choice, so it is refused as a token; with one algorithm and one key, the same misfit
    is the caller's and stays a plain :class:`InvalidKeyError`.
    """


class DecodeError(InvalidTokenError):
    """The token is not a well-formed JWS compact serialization (RFC 7515 §7.1)."""


class TokenTooLargeError(DecodeError):
    """The token is longer than ``jwtlab.token.MAX_TOKEN_LENGTH`` characters."""


class SegmentCountError(DecodeError):
    """A compact JWS has exactly three segments separated by two dots."""


class Base64urlError(DecodeError, ValueError):
    """Text that is not strict, unpadded base64url (RFC 7515 §2, RFC 4648 §5)."""


class InvalidJSONError(DecodeError):
    """A segment is not UTF-8 JSON text holding one object (RFC 7515 §5.2, RFC 7519 §7.2)."""


class DuplicateMemberError(InvalidJSONError):
    """A JSON object names the same member twice (RFC 7515 §5.2 step 3, RFC 7519 §4)."""


class JSONNestingError(InvalidJSONError):
    """The JSON nests deeper than ``jwtlab.token.MAX_JSON_DEPTH``."""


class InvalidUnicodeError(InvalidJSONError):
    """A JSON string holds a lone surrogate such as ``"\\ud800"``: not Unicode text.

    I-JSON (RFC 7493 §2.1) forbids it; such a string cannot even be written out as UTF-8.
    """


class NumberOutOfRangeError(InvalidJSONError):
    """A JSON number beyond what an IEEE 754 double holds (I-JSON, RFC 7493 §2.2)."""


class InvalidHeaderError(DecodeError):
    """A header parameter has the wrong type or value (RFC 7515 §4.1, RFC 7797 §3)."""


class UnsupportedCriticalHeaderError(DecodeError):
    """The ``crit`` header names an extension jwtlab does not understand (RFC 7515 §4.1.11)."""


class UnencodedPayloadError(DecodeError):
    """``b64: false`` (RFC 7797) is not supported: the payload must be base64url."""


class InvalidNumericDateError(DecodeError):
    """``exp``, ``nbf`` or ``iat`` is not a NumericDate (RFC 7519 §2): a JSON number."""


class MillisecondNumericDateError(InvalidNumericDateError):
    """A NumericDate that counts milliseconds, not seconds, since the epoch."""


class InvalidSignatureError(DecodeError):
    """The signature does not verify with the key."""


class MalformedSignatureError(InvalidSignatureError):
    """The signature cannot be a valid one at all (e.g. ECDSA r||s of the wrong length)."""


class InvalidAlgorithmError(InvalidTokenError):
    """The header's ``alg`` is missing, unknown or not in the ``algorithms`` allow-list."""


class UnsecuredAlgorithmError(InvalidAlgorithmError):
    """``alg: none`` (in any spelling): an unsecured JWS, never accepted (RFC 7518 §3.6)."""


class AlgorithmConfusionError(InvalidKeyError, InvalidAlgorithmError):
    """A public key (PEM, JWK or key object) offered as an HMAC secret.

    This is the algorithm-confusion attack: an attacker signs with HS256 using the
    server's *public* key as the secret. It is both a key error and a token error.
    """


class ExpiredSignatureError(InvalidTokenError):
    """The current time is at or after ``exp`` (+ leeway) (RFC 7519 §4.1.4)."""


class ImmatureSignatureError(InvalidTokenError):
    """The current time is before ``nbf`` (- leeway) (RFC 7519 §4.1.5)."""


class InvalidIssuedAtError(InvalidTokenError):
    """``iat`` is unusable (RFC 7519 §4.1.6)."""


class IssuedInTheFutureError(InvalidIssuedAtError, ImmatureSignatureError):
    """``iat`` lies in the future (beyond the leeway): the token claims to be issued later."""


class InvalidAudienceError(InvalidTokenError):
    """The ``aud`` claim does not name this recipient (RFC 7519 §4.1.3)."""


class InvalidIssuerError(InvalidTokenError):
    """The ``iss`` claim is not the expected issuer (RFC 7519 §4.1.1)."""


class InvalidSubjectError(InvalidTokenError):
    """The ``sub`` claim is not a string or not the expected subject (RFC 7519 §4.1.2)."""


class InvalidJTIError(InvalidTokenError):
    """The ``jti`` claim is not a string (RFC 7519 §4.1.7)."""


class MissingRequiredClaimError(InvalidTokenError):
    """A claim named in ``require=`` (or needed by ``audience=``/``issuer=``) is absent."""

    def __init__(self, claim: str, message: str | None = None) -> None:
        self.claim = claim
        super().__init__(
            message
            or f"the token has no {claim!r} claim but it is required; "
            f"issue tokens that carry {claim!r}, or stop requiring it"
        )
