"""JWS compact serialization: sign and verify a JWT (RFC 7515 §7.1, RFC 7519 §7).

This module signs and verifies (PyJWT's ``api_jws`` and ``api_jwt``); explaining a
token, :func:`jwtlab.build` and :func:`jwtlab.inspect`, lives in :mod:`jwtlab.explain`,
which imports from here.

A JWT in compact form is three base64url segments joined by dots (RFC 7515 §7.1)::

    BASE64URL(UTF8(JWS Protected Header)) . BASE64URL(JWS Payload) . BASE64URL(JWS Signature)

**Creating** one (RFC 7519 §7.1, RFC 7515 §5.1), the steps of :func:`encode` and
:func:`jwtlab.build`, in order:

1. the protected header, e.g. ``{"alg":"HS256","typ":"JWT"}``, as UTF-8 JSON, its
   members sorted by name (so ``typ`` may come after ``alg`` whatever order you gave);
2. its base64url: the first segment;
3. the claims set (the payload) as UTF-8 JSON;
4. its base64url: the second segment;
5. the *signing input*: ``first segment + "." + second segment``, as ASCII;
6. the signature (or MAC) over the signing input, with the key;
7. its base64url: the third segment;
8. the token: the three segments joined with ``.``.

**Validating** one (RFC 7519 §7.2, RFC 7515 §5.2), the steps of :func:`decode`:

1. refuse a token longer than :data:`MAX_TOKEN_LENGTH`; split it into exactly three
   segments of strict base64url;
2. decode the protected header: base64url, UTF-8, I-JSON (no duplicate member names, no
   lone surrogates, no number beyond a double's range) no deeper than
   :data:`MAX_JSON_DEPTH`, and an object;
3. check the header: ``alg`` present, not ``none``, in the caller's allow-list; every
   registered parameter of the type RFC 7515 §4.1 gives it; ``crit`` naming only
   extensions jwtlab understands (``b64``, RFC 7797); no ``b64: false``;
4. decode the signature;
5. verify the signature over the signing input with the key;
6. only then decode the payload (the claims set) the same way as the header;
7. validate the claims (``exp``, ``nbf``, ``iat``, ``iss``, ``sub``, ``aud``, ``jti``,
   ``require``) against ``now`` and the leeway (:func:`jwtlab.claims.validate`).

Steps 1–5 are the JWS layer, :func:`decode_jws` (payload returned as bytes); steps 6–7
make it a JWT (:func:`decode_complete`, :func:`decode`).

**The refusal contract.** Whatever the token controls ends in an
:class:`~jwtlab.errors.InvalidTokenError` with a short message, never another exception:
numbers are checked to be finite and in range before any arithmetic, strings to be
Unicode, header parameters to have their registered types, and a key chosen by the
token's ``alg`` or ``kid`` that does not fit is the token's fault
(:class:`~jwtlab.errors.KeyMismatchError`). :func:`encode` refuses to write a header
that :func:`decode` would refuse.

**ECDSA signatures are malleable, and accepted.** For every ES* signature ``(r, s)`` the
pair ``(r, n - s)`` verifies too (the "high-s" twin). jwtlab accepts both, as PyJWT and
joserfc do and as RFC 7518 §3.4 allows: it forges nothing, since only the key holder can
make the first one. It matters only where the token *string* is used as an identifier
(a deny-list or a replay cache keyed by the whole token): a second spelling of the same
token would slip past it. Key such lists by ``jti`` instead.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Iterable
from typing import Any, TypeAlias

from jwtlab import claims as claims_module
from jwtlab.algorithms import Algorithm, Key, KeyLike, get_algorithm, is_none_algorithm
from jwtlab.b64 import b64url_decode, b64url_encode, decode_checked_alphabet
from jwtlab.claims import Leeway, Now
from jwtlab.errors import (
    DecodeError,
    DuplicateMemberError,
    InvalidAlgorithmError,
    InvalidHeaderError,
    InvalidJSONError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
    InvalidUnicodeError,
    JSONNestingError,
    KeyMismatchError,
    KeyNotFoundError,
    NumberOutOfRangeError,
    SegmentCountError,
    TokenTooLargeError,
    UnencodedPayloadError,
    UnsecuredAlgorithmError,
    UnsupportedCriticalHeaderError,
    excerpt,
)
from jwtlab.jwk import KeySet

__all__ = [
    "HEADER_PARAMETER_TYPES",
    "MAX_JSON_DEPTH",
    "MAX_TOKEN_LENGTH",
    "UNDERSTOOD_CRITICAL_PARAMETERS",
    "VerificationKey",
    "decode",
    "decode_complete",
    "decode_jws",
    "encode",
    "get_unverified_header",
    "header_problem",
    "parse_json_object",
    "split_compact",
]

#: What ``decode`` verifies with: any :data:`~jwtlab.algorithms.KeyLike`, or a JWK Set.
VerificationKey: TypeAlias = "KeyLike | KeySet"

#: Longest token :func:`decode` reads, in characters. 16 KiB is twice what most web
#: servers accept in one HTTP header (nginx: 8 KiB) and far above any honest JWT.
MAX_TOKEN_LENGTH = 16 * 1024
#: Deepest nesting of arrays and objects allowed in the header or the claims set.
MAX_JSON_DEPTH = 32

_COMPACT = re.compile(r"([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)")
_SEGMENT_NAMES = ("header segment", "payload segment", "signature segment")


# --- JSON, strictly ---------------------------------------------------------------------


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses ``{"a":1,"a":2}`` (RFC 7515 §5.2 step 3)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise DuplicateMemberError(
                    f"member name {excerpt(name)} appears twice in one JSON object; RFC 7515 §5.2 "
                    "and RFC 7519 §4 require unique names, because two parsers could each "
                    "keep a different value"
                )
            seen.add(name)
    return result


def _refuse_constant(name: str) -> float:
    raise InvalidJSONError(f"{name} is not JSON (RFC 8259 §6 has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400 parses as inf: out of the double's range
        raise NumberOutOfRangeError(
            f"the number {excerpt(text)} is beyond the range of an IEEE 754 double; I-JSON "
            "(RFC 7493 §2.2) numbers stay within it"
        )
    return value


# Integers of more digits than this exceed the largest double (about 1.8e308).
_LONGEST_INTEGER = 308


def _integer_in_range(text: str) -> int:
    if len(text) > _LONGEST_INTEGER and len(text.lstrip("-")) > _LONGEST_INTEGER:
        raise NumberOutOfRangeError(
            f"an integer of {len(text.lstrip('-'))} digits is beyond the range of an IEEE 754 "
            "double; I-JSON (RFC 7493 §2.2) numbers stay within it"
        )
    return int(text)


_JSON_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates,
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
    parse_int=_integer_in_range,
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_path(value: Any, path: str = "") -> str | None:
    """Where in a parsed JSON value a string holds a lone surrogate (``"\\ud800"``), or None.

    Escaped surrogate *pairs* are joined into one character by the parser, so any
    surrogate left over is a lone one: not Unicode, refused by I-JSON (RFC 7493 §2.1).
    """
    if isinstance(value, str):
        return path or "the value" if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for name, member in value.items():
            if _SURROGATE.search(name):
                return f"a member name in {path or 'the object'}"
            found = lone_surrogate_path(member, f"{path}.{name}" if path else name)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _nesting_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json_object(data: bytes, what: str) -> dict[str, Any]:
    """UTF-8 bytes -> a JSON object, strictly (RFC 7515 §5.2 steps 2–4, RFC 7519 §7.2)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidJSONError(
            f"the {what} is not UTF-8 text (byte {error.start}: "
            f"{data[error.start : error.start + 1]!r}); JSON in a JWS is always UTF-8 "
            "(RFC 7515 §5.1)"
        ) from None
    # Counting brackets is fast; only a text with many of them needs the exact scan.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        depth = _nesting_depth(text)
        if depth > MAX_JSON_DEPTH:
            raise JSONNestingError(
                f"the {what} nests arrays/objects {depth} deep; jwtlab reads at most "
                f"{MAX_JSON_DEPTH} (MAX_JSON_DEPTH), so a hostile token cannot exhaust the stack"
            )
    try:
        value = _JSON_DECODER.decode(text)
    except InvalidTokenError:
        raise
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4300 digits
        raise InvalidJSONError(
            f"the {what} is not valid JSON: {excerpt(str(error), 120)}"
        ) from None
    if not isinstance(value, dict):
        raise InvalidJSONError(
            f"the {what} is JSON but a {type(value).__name__}, not an object; a JWT's header "
            "and claims set are JSON objects (RFC 7519 §7.2 steps 4 and 10)"
        )
    # Only an escape can make a surrogate (UTF-8 decoding refuses encoded ones).
    if "\\u" in text:
        where = lone_surrogate_path(value)
        if where:
            raise InvalidUnicodeError(
                f"the {what} holds a lone surrogate (a \\ud800-\\udfff escape without its "
                f"pair) in {excerpt(where)}: not Unicode text, refused by I-JSON (RFC 7493 "
                "§2.1); the issuer must write valid Unicode"
            )
    return value


def to_json(value: dict[str, Any], what: str, *, sort_keys: bool = False) -> bytes:
    """Compact JSON, as PyJWT writes it, so that both libraries make the same tokens.

    Refuses what :func:`parse_json_object` would refuse on the way back: lone surrogates
    and integers beyond a double's range (NaN and infinity: ``allow_nan=False``).
    """
    try:
        text = json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"cannot write the {what} as JSON: {error}") from None
    if "\\ud" in text:  # ensure_ascii writes every non-BMP character as a pair of these
        where = lone_surrogate_path(value)
        if where:
            raise ValueError(
                f"the {what} holds a lone surrogate in {where}: not Unicode text; "
                "decode() would refuse the token (I-JSON, RFC 7493 §2.1)"
            )
    if _LONG_DIGIT_RUN.search(text):
        raise ValueError(
            f"the {what} holds an integer beyond the range of an IEEE 754 double; "
            "decode() would refuse the token (I-JSON, RFC 7493 §2.2)"
        )
    return text.encode("utf-8")


_LONG_DIGIT_RUN = re.compile(rf"\d{{{_LONGEST_INTEGER + 1}}}")


# --- creating (RFC 7519 §7.1) -----------------------------------------------------------


def protected_header(algorithm: str, headers: dict[str, Any] | None) -> dict[str, Any]:
    """``{"alg": ..., "typ": "JWT"}`` plus the caller's fields (``alg`` cannot be overridden).

    ``typ`` is optional (RFC 7519 §5.1): ``headers={"typ": None}`` leaves it out, as in
    PyJWT. A header that :func:`decode` would refuse is a ``ValueError`` here.
    """
    header: dict[str, Any] = {"typ": "JWT", "alg": algorithm}
    if headers:
        if not isinstance(headers, dict):
            raise TypeError(f"headers= must be a dict, not {type(headers).__name__}")
        if "alg" in headers and headers["alg"] != algorithm:
            raise ValueError(
                f"headers= says alg {headers['alg']!r} but algorithm={algorithm!r}; "
                "choose the algorithm with algorithm= only"
            )
        header.update(headers)
        if header.get("typ", "") is None:
            del header["typ"]
    problem = header_problem(header)
    if problem is not None:
        raise ValueError(
            f"{problem[1]}; decode() would refuse this token, so encode() does not make it"
        )
    return header


def claims_with_numeric_dates(payload: dict[str, Any]) -> dict[str, Any]:
    """Turn aware datetimes in exp/nbf/iat into NumericDates, as PyJWT does."""
    if not isinstance(payload, dict):
        raise TypeError(f"the payload must be a dict of claims, not {type(payload).__name__}")
    converted = dict(payload)
    for name in claims_module.TIME_CLAIMS:
        # Only datetimes are converted; numbers are written as given (as PyJWT does),
        # so that a mistake such as milliseconds can be made, and then caught by decode().
        if isinstance(converted.get(name), datetime.datetime):
            converted[name] = claims_module.numeric_date(converted[name])
    return converted


def algorithm_for_signing(algorithm: str) -> Algorithm:
    if is_none_algorithm(algorithm):
        raise ValueError(
            "jwtlab does not make unsecured tokens (alg 'none', RFC 7518 §3.6): "
            "anyone could forge them"
        )
    return get_algorithm(algorithm)


def encode(
    payload: dict[str, Any],
    key: KeyLike,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    *,
    allow_weak_key: bool = False,
) -> str:
    """Sign ``payload`` (the claims set) and return the compact JWT (RFC 7519 §7.1).

    ``key``: a secret (``bytes``/``str``) for HS*; a private key as PEM, a
    ``cryptography`` key object or a JWK dict for the others. ``headers`` adds header
    fields such as ``kid`` (``{"typ": None}`` leaves ``typ`` out); a header that
    :func:`decode` would refuse (``b64: false``, an unknown ``crit``, a ``kid`` that is
    not a string) is a ``ValueError``. Datetimes in ``exp``/``nbf``/``iat`` become
    NumericDates.
    ``allow_weak_key=True`` accepts an HMAC secret shorter than the hash output (or an RSA
    key under 2048 bits), which RFC 7518 §3.2 forbids; use it only to study weak keys.
    The result is the same string :func:`build` produces, and for deterministic
    algorithms the same as PyJWT's ``jwt.encode``.
    """
    signer = algorithm_for_signing(algorithm)
    signing_key = prepare_key(signer, key, allow_weak_key)
    protected = protected_header(algorithm, headers)
    header_json = to_json(protected, "header", sort_keys=True)
    header_segment = b64url_encode(header_json)
    payload_json = to_json(claims_with_numeric_dates(payload), "claims")
    payload_segment = b64url_encode(payload_json)
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    signature = signer.sign(signing_input, signing_key)
    signature_segment = b64url_encode(signature)
    return f"{header_segment}.{payload_segment}.{signature_segment}"


# --- keys -------------------------------------------------------------------------------

_PREPARED_KEYS: dict[tuple[object, ...], Key] = {}
_PREPARED_KEYS_LIMIT = 256


def prepare_key(algorithm: Algorithm, key: KeyLike, allow_weak_key: bool) -> Key:
    """``algorithm.prepare_key(key)``, remembered for keys that can be remembered.

    A server checks every token with the same key, so the checks (and any PEM parsing)
    are done once. Dicts (JWKs) are not hashable and are prepared each time.
    """
    try:
        cache_key = (algorithm.name, type(key), key, allow_weak_key)
        return _PREPARED_KEYS[cache_key]
    except TypeError:
        return algorithm.prepare_key(key, allow_weak_key=allow_weak_key)
    except KeyError:
        pass
    prepared = algorithm.prepare_key(key, allow_weak_key=allow_weak_key)
    if len(_PREPARED_KEYS) >= _PREPARED_KEYS_LIMIT:
        _PREPARED_KEYS.clear()
    _PREPARED_KEYS[cache_key] = prepared
    return prepared


def _key_for_header(key: VerificationKey, protected: dict[str, Any]) -> tuple[KeyLike, bool]:
    """Pick the key from a JWK Set by the header's ``kid`` (RFC 7515 §4.1.4).

    Returns the key and whether the token chose it (by ``kid``) among several.
    """
    if isinstance(key, dict) and "keys" in key:
        key = KeySet.from_dict(key)
    if not isinstance(key, KeySet):
        return key, False
    kid = protected.get("kid")
    if kid is None:
        if len(key) == 1:
            return key.keys[0], False
        raise KeyNotFoundError(
            f"the key set has {len(key)} keys and the token's header has no kid to choose "
            "one; issue tokens with headers={'kid': ...}"
        )
    return key.find(kid), True


# --- validating (RFC 7519 §7.2) ---------------------------------------------------------


def split_compact(token: str | bytes) -> tuple[str, str, str]:
    """Step 1: size limit, then three dot-separated segments of strict base64url."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise DecodeError("the token contains non-ASCII bytes; a JWT is ASCII") from None
    if not isinstance(token, str):
        raise DecodeError(f"a token is a str (or bytes), not {type(token).__name__}")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenTooLargeError(
            f"the token has {len(token)} characters; jwtlab reads at most {MAX_TOKEN_LENGTH} "
            "(MAX_TOKEN_LENGTH), more than any honest token needs; keep claims small"
        )
    match = _COMPACT.fullmatch(token)
    if match is not None:
        header_segment, payload_segment, signature_segment = match.group(1, 2, 3)
        return header_segment, payload_segment, signature_segment
    segments = token.split(".")
    if len(segments) != 3:
        raise SegmentCountError(
            f"a JWS in compact form has 3 segments separated by 2 dots "
            f"(header.payload.signature, RFC 7515 §7.1), but this has {len(segments)} "
            f"segment{'s' if len(segments) != 1 else ''}"
            + (
                "; 5 segments is a JWE (an encrypted token), which jwtlab does not read"
                if len(segments) == 5
                else ""
            )
        )
    for segment, what in zip(segments, _SEGMENT_NAMES, strict=True):
        b64url_decode(segment, what=what)  # raises, naming the bad character
    raise DecodeError("the token is not base64url")  # unreachable: one segment is bad


def _decode_protected_header(header_segment: str) -> dict[str, Any]:
    """Step 2: the header segment -> the JWS Protected Header, a JSON object."""
    header_json = decode_checked_alphabet(header_segment, _SEGMENT_NAMES[0])
    return parse_json_object(header_json, "header")


_CHECKED_ALLOW_LISTS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _allowed(algorithms: Any) -> tuple[str, ...]:
    """The caller's allow-list, checked once per distinct list."""
    if type(algorithms) in (list, tuple):
        try:
            return _CHECKED_ALLOW_LISTS[tuple(algorithms)]
        except (KeyError, TypeError):
            pass
    if isinstance(algorithms, str) or not isinstance(algorithms, Iterable):
        raise TypeError(
            f"algorithms= must be a list of algorithm names such as ['HS256'], not "
            f"{algorithms!r}: the caller, never the token, decides which algorithms are trusted"
        )
    allowed = tuple(algorithms)
    if not allowed:
        raise TypeError("algorithms= is empty; name the algorithms you trust, e.g. ['HS256']")
    for name in allowed:
        if is_none_algorithm(name):
            raise ValueError("algorithms= may not contain 'none': unsecured tokens prove nothing")
        get_algorithm(name)  # unknown names are a programming error: ValueError
    if len(_CHECKED_ALLOW_LISTS) < 64:
        _CHECKED_ALLOW_LISTS[allowed] = allowed
    return allowed


#: The JSON type RFC 7515 §4.1 (and RFC 7797 §3 for ``b64``) gives each registered header
#: parameter. ``crit`` and ``x5c`` are arrays of strings, checked further below.
HEADER_PARAMETER_TYPES: dict[str, tuple[type, str]] = {
    "alg": (str, "a string"),
    "jku": (str, "a string (a URI)"),
    "jwk": (dict, "an object (a JWK)"),
    "kid": (str, "a string"),
    "x5u": (str, "a string (a URI)"),
    "x5c": (list, "an array of strings"),
    "x5t": (str, "a string"),
    "x5t#S256": (str, "a string"),
    "typ": (str, "a string"),
    "cty": (str, "a string"),
    "crit": (list, "a non-empty array of strings"),
    "b64": (bool, "true or false"),
}
#: Extensions jwtlab understands when ``crit`` names them: ``b64`` (RFC 7797 §6), and
#: only with the value true.
UNDERSTOOD_CRITICAL_PARAMETERS = frozenset({"b64"})
# RFC 7515 §4.1.11: crit must not name the parameters RFC 7515 and RFC 7518 define.
_SPEC_DEFINED_PARAMETERS = frozenset(HEADER_PARAMETER_TYPES) - {"b64"} | {
    "epk",
    "apu",
    "apv",
    "iv",
    "tag",
    "p2s",
    "p2c",
    "enc",
    "zip",
}


def header_problem(header: dict[str, Any]) -> tuple[type[InvalidTokenError], str] | None:
    """The first reason to refuse a header's parameters (RFC 7515 §4.1), or None.

    ``(error class, message)``: :func:`decode` raises it, :func:`encode` turns it into a
    ValueError, :func:`jwtlab.inspect` shows it as a warning. Does not look at ``alg``'s
    value, which the caller's allow-list decides.
    """
    for name, value in header.items():
        expected = HEADER_PARAMETER_TYPES.get(name)
        if expected is None:
            continue
        kind, description = expected
        if type(value) is not kind and not (kind is str and isinstance(value, str)):
            return InvalidHeaderError, (
                f"the header's {name} must be {description} (RFC 7515 §4.1), not {excerpt(value)}"
            )
    if "x5c" in header and not all(isinstance(item, str) for item in header["x5c"]):
        return InvalidHeaderError, "the header's x5c must be an array of strings (RFC 7515 §4.1.6)"
    if header.get("b64") is False:
        return UnencodedPayloadError, (
            "the header says b64: false (RFC 7797, unencoded payload); jwtlab reads and "
            "writes only base64url payloads"
        )
    if "crit" in header:
        return _crit_problem(header)
    return None


def _crit_problem(header: dict[str, Any]) -> tuple[type[InvalidTokenError], str] | None:
    crit = header["crit"]
    if not crit or not all(isinstance(name, str) for name in crit) or len(set(crit)) != len(crit):
        return InvalidHeaderError, (
            "the header's crit must be a non-empty array of distinct names "
            f"(RFC 7515 §4.1.11), not {excerpt(crit)}"
        )
    for name in crit:
        if name in _SPEC_DEFINED_PARAMETERS:
            return InvalidHeaderError, (
                f"the header's crit names {excerpt(name)}, which RFC 7515/7518 define; crit "
                "lists extensions only (RFC 7515 §4.1.11)"
            )
        if name not in header:
            return InvalidHeaderError, (
                f"the header's crit names {excerpt(name)} but the header has no such "
                "parameter (RFC 7515 §4.1.11)"
            )
        if name not in UNDERSTOOD_CRITICAL_PARAMETERS:
            return UnsupportedCriticalHeaderError, (
                f"the header marks {excerpt(name)} as critical (crit, RFC 7515 §4.1.11): the "
                "recipient must understand it or refuse the token, and jwtlab understands "
                f"only {sorted(UNDERSTOOD_CRITICAL_PARAMETERS)}"
            )
    return None


def _check_header(protected: dict[str, Any], allowed: tuple[str, ...]) -> Algorithm:
    """Step 3: the algorithm is the caller's choice, and every parameter is well formed."""
    if "alg" not in protected:
        raise InvalidAlgorithmError(
            "the header has no 'alg'; every JWS names its algorithm (RFC 7515 §4.1.1)"
        )
    alg = protected["alg"]
    if type(alg) is not str or alg not in allowed:  # "none" never is: _allowed() refuses it
        if is_none_algorithm(alg):
            raise UnsecuredAlgorithmError(
                f"the header says alg {excerpt(alg)}: an unsecured token with no signature, "
                "which anyone can forge (RFC 7518 §3.6); it is never accepted"
            )
        raise InvalidAlgorithmError(
            f"the token is signed with alg {excerpt(alg)}, but algorithms= allows only "
            f"{list(allowed)}; never let the token choose its own algorithm"
        )
    if len(protected) > 2 or "typ" not in protected:  # {"alg", "typ"} alone needs no check
        problem = header_problem(protected)
        if problem is not None:
            error_class, message = problem
            raise error_class(message)
    elif type(protected["typ"]) is not str:
        raise InvalidHeaderError(
            f"the header's typ must be a string (RFC 7515 §4.1.9), not {excerpt(protected['typ'])}"
        )
    return get_algorithm(alg)


def _verify_signature(
    verifier: Algorithm,
    key: VerificationKey,
    protected: dict[str, Any],
    signing_input: bytes,
    signature: bytes,
    allow_weak_key: bool,
    allowed: tuple[str, ...],
) -> None:
    """Step 5: the signature must verify over the signing input with the key."""
    chosen_key, chosen_by_kid = _key_for_header(key, protected)
    try:
        verifying_key = prepare_key(verifier, chosen_key, allow_weak_key)
    except InvalidKeyError as error:
        # With one allowed algorithm and one key, a misfit is the caller's alone; when the
        # token's alg (among several) or kid chose the pair, the token is refused.
        if isinstance(error, InvalidTokenError) or not (chosen_by_kid or len(allowed) > 1):
            raise
        raise KeyMismatchError(
            f"the token chose alg {verifier.name}"
            + (f" and kid {excerpt(protected.get('kid'))}" if chosen_by_kid else "")
            + f", but that key does not fit: {error}"
        ) from None
    if not verifier.verify(signing_input, verifying_key, signature):
        raise InvalidSignatureError(
            f"the {verifier.name} signature does not match the header and payload: the "
            "token was altered or signed with another key; do not trust any of its claims"
        )


def decode_jws(
    token: str | bytes,
    key: VerificationKey,
    algorithms: Iterable[str],
    *,
    allow_weak_key: bool = False,
) -> dict[str, Any]:
    """Steps 1–5 only: verify the JWS and return its payload as *bytes*, unparsed.

    ``{"header": dict, "payload": bytes, "signature": bytes}``. This is the JWS layer
    (RFC 7515 §5.2) under the JWT layer of :func:`decode_complete`; it also reads
    JWSs whose payload is not JSON, like the RFC 7520 examples.
    """
    allowed = _allowed(algorithms)
    # 1. size, three segments, alphabet
    header_segment, payload_segment, signature_segment = split_compact(token)
    # 2. the protected header
    protected = _decode_protected_header(header_segment)
    # 3. alg, crit, b64
    verifier = _check_header(protected, allowed)
    # 4. the signature
    signature = decode_checked_alphabet(signature_segment, _SEGMENT_NAMES[2])
    # 5. verify over the signing input
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    _verify_signature(verifier, key, protected, signing_input, signature, allow_weak_key, allowed)
    payload = decode_checked_alphabet(payload_segment, _SEGMENT_NAMES[1])
    return {"header": protected, "payload": payload, "signature": signature}


def decode_complete(
    token: str | bytes,
    key: VerificationKey,
    algorithms: Iterable[str],
    *,
    audience: str | Iterable[str] | None = None,
    issuer: str | Iterable[str] | None = None,
    subject: str | None = None,
    leeway: Leeway = 0,
    require: Iterable[str] = (),
    now: Now = None,
    allow_weak_key: bool = False,
) -> dict[str, Any]:
    """Verify ``token`` strictly; return ``{"header", "payload", "signature"}``.

    Arguments as :func:`decode`.
    """
    # 1.–5. the JWS: segments, header, algorithm, signature
    jws = decode_jws(token, key, algorithms, allow_weak_key=allow_weak_key)
    # 6. only now read the payload: the JWT Claims Set
    payload = parse_json_object(jws["payload"], "payload")
    # 7. the claims
    claims_module.validate(
        payload,
        now=now,
        leeway=leeway,
        audience=audience,
        issuer=issuer,
        subject=subject,
        require=require,
    )
    return {"header": jws["header"], "payload": payload, "signature": jws["signature"]}


def decode(
    token: str | bytes,
    key: VerificationKey,
    algorithms: Iterable[str],
    *,
    audience: str | Iterable[str] | None = None,
    issuer: str | Iterable[str] | None = None,
    subject: str | None = None,
    leeway: Leeway = 0,
    require: Iterable[str] = (),
    now: Now = None,
    allow_weak_key: bool = False,
) -> dict[str, Any]:
    """Verify ``token`` strictly and return its claims (RFC 7519 §7.2).

    - ``key``: the HMAC secret, or the public key (PEM, key object, JWK dict), or a JWK
      Set (``{"keys": [...]}`` or :class:`jwtlab.jwk.KeySet`) searched by the header's
      ``kid``.
    - ``algorithms``: the allow-list, required; the token's ``alg`` must be in it.
    - ``audience``/``issuer``: who you are / whom you trust (a string or a list);
      ``subject``: the ``sub`` expected; ``require``: claim names that must be present.
    - ``leeway``: seconds (or a timedelta) of clock difference to tolerate.
    - ``now``: the time to check against — epoch seconds or an aware datetime; the
      clock if None.
    - ``allow_weak_key``: accept HMAC secrets shorter than the hash output (and RSA keys
      under 2048 bits), which RFC 7518 §3.2 forbids; for demonstrating attacks only.

    Limits: at most :data:`MAX_TOKEN_LENGTH` characters and :data:`MAX_JSON_DEPTH`
    levels of JSON nesting. Every refusal caused by the token is a
    :class:`jwtlab.InvalidTokenError`, whose message says what is wrong, the values
    involved (shortened) and what to do; a key that cannot work with any token (a short
    secret for the only algorithm allowed) is a :class:`jwtlab.InvalidKeyError`.
    ``require="exp"`` (a string, not a list) is a ``TypeError``.

    ECDSA (ES*) signatures are malleable: ``(r, n - s)`` verifies wherever ``(r, s)``
    does, and both are accepted (as in PyJWT and joserfc). That forges nothing; it only
    matters if you use the token string as an identifier — key replay and deny lists by
    ``jti``, not by the token.
    """
    payload: dict[str, Any] = decode_complete(
        token,
        key,
        algorithms,
        audience=audience,
        issuer=issuer,
        subject=subject,
        leeway=leeway,
        require=require,
        now=now,
        allow_weak_key=allow_weak_key,
    )["payload"]
    return payload


def get_unverified_header(token: str | bytes) -> dict[str, Any]:
    """The header, decoded strictly but **not verified**: use it only to choose a key."""
    header_segment, _, _ = split_compact(token)
    return _decode_protected_header(header_segment)
