"""JWS compact serialization: make, check and explain a JWT (RFC 7515 §7.1, RFC 7519 §7).

A JWT in compact form is three base64url segments joined by dots (RFC 7515 §7.1)::

    BASE64URL(UTF8(JWS Protected Header)) . BASE64URL(JWS Payload) . BASE64URL(JWS Signature)

**Creating** one (RFC 7519 §7.1, RFC 7515 §5.1), the steps of :func:`encode` and
:func:`build`, in order:

1. the protected header, e.g. ``{"alg":"HS256","typ":"JWT"}``, as UTF-8 JSON;
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
2. decode the protected header: base64url, UTF-8, JSON with no duplicate member names
   and no deeper than :data:`MAX_JSON_DEPTH`, and an object;
3. check the header: ``alg`` present, not ``none``, in the caller's allow-list;
   no unsupported ``crit``; no ``b64: false``;
4. decode the signature;
5. verify the signature over the signing input with the key;
6. only then decode the payload (the claims set) the same way as the header;
7. validate the claims (``exp``, ``nbf``, ``iat``, ``iss``, ``sub``, ``aud``, ``jti``,
   ``require``) against ``now`` and the leeway (:func:`jwtlab.claims.validate`).

Steps 1–5 are the JWS layer, :func:`decode_jws` (payload returned as bytes); steps 6–7
make it a JWT (:func:`decode_complete`, :func:`decode`).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jwtlab import claims as claims_module
from jwtlab.algorithms import Algorithm, describe_key, get_algorithm, is_none_algorithm
from jwtlab.b64 import b64url_decode, b64url_encode, decode_checked_alphabet
from jwtlab.errors import (
    DecodeError,
    DuplicateMemberError,
    InvalidAlgorithmError,
    InvalidJSONError,
    InvalidSignatureError,
    JSONNestingError,
    KeyNotFoundError,
    SegmentCountError,
    TokenTooLargeError,
    UnencodedPayloadError,
    UnsecuredAlgorithmError,
    UnsupportedCriticalHeaderError,
)
from jwtlab.jwk import KeySet

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_TOKEN_LENGTH",
    "Build",
    "Inspection",
    "Step",
    "build",
    "decode",
    "decode_complete",
    "decode_jws",
    "encode",
    "get_unverified_header",
    "inspect",
]

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
                    f"member name {name!r} appears twice in one JSON object; RFC 7515 §5.2 "
                    "and RFC 7519 §4 require unique names, because two parsers could each "
                    "keep a different value"
                )
            seen.add(name)
    return result


def _refuse_constant(name: str) -> float:
    raise InvalidJSONError(f"{name} is not JSON (RFC 8259 §6 has no NaN or Infinity)")


_JSON_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates, parse_constant=_refuse_constant
)


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
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4300 digits
        raise InvalidJSONError(f"the {what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidJSONError(
            f"the {what} is JSON but a {type(value).__name__}, not an object; a JWT's header "
            "and claims set are JSON objects (RFC 7519 §7.2 steps 4 and 10)"
        )
    return value


def _to_json(value: dict[str, Any], *, sort_keys: bool = False) -> bytes:
    """Compact JSON, as PyJWT writes it, so that both libraries make the same tokens."""
    try:
        return json.dumps(
            value, separators=(",", ":"), sort_keys=sort_keys, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise TypeError(f"cannot write the claims as JSON: {error}") from None


# --- creating (RFC 7519 §7.1) -----------------------------------------------------------


def _protected_header(algorithm: str, headers: dict[str, Any] | None) -> dict[str, Any]:
    """``{"alg": ..., "typ": "JWT"}`` plus the caller's fields (``alg`` cannot be overridden)."""
    header: dict[str, Any] = {"typ": "JWT", "alg": algorithm}
    if headers:
        if "alg" in headers and headers["alg"] != algorithm:
            raise ValueError(
                f"headers= says alg {headers['alg']!r} but algorithm={algorithm!r}; "
                "choose the algorithm with algorithm= only"
            )
        header.update(headers)
    return header


def _claims_with_numeric_dates(payload: dict[str, Any]) -> dict[str, Any]:
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


def _algorithm_for_signing(algorithm: str) -> Algorithm:
    if is_none_algorithm(algorithm):
        raise ValueError(
            "jwtlab does not make unsecured tokens (alg 'none', RFC 7518 §3.6): "
            "anyone could forge them"
        )
    return get_algorithm(algorithm)


def encode(
    payload: dict[str, Any],
    key: Any,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    *,
    allow_weak_key: bool = False,
) -> str:
    """Sign ``payload`` (the claims set) and return the compact JWT (RFC 7519 §7.1).

    ``key``: a secret (``bytes``/``str``) for HS*; a private key as PEM, a
    ``cryptography`` key object or a JWK dict for the others. ``headers`` adds header
    fields such as ``kid``. Datetimes in ``exp``/``nbf``/``iat`` become NumericDates.
    ``allow_weak_key=True`` accepts an HMAC secret shorter than the hash output (or an RSA
    key under 2048 bits), which RFC 7518 §3.2 forbids; use it only to study weak keys.
    The result is the same string :func:`build` produces, and for deterministic
    algorithms the same as PyJWT's ``jwt.encode``.
    """
    signer = _algorithm_for_signing(algorithm)
    signing_key = _prepare_key(signer, key, allow_weak_key)
    protected = _protected_header(algorithm, headers)
    header_json = _to_json(protected, sort_keys=True)
    header_segment = b64url_encode(header_json)
    payload_json = _to_json(_claims_with_numeric_dates(payload))
    payload_segment = b64url_encode(payload_json)
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    signature = signer.sign(signing_input, signing_key)
    signature_segment = b64url_encode(signature)
    return f"{header_segment}.{payload_segment}.{signature_segment}"


# --- keys -------------------------------------------------------------------------------

_PREPARED_KEYS: dict[tuple[Any, ...], Any] = {}
_PREPARED_KEYS_LIMIT = 256


def _prepare_key(algorithm: Algorithm, key: Any, allow_weak_key: bool) -> Any:
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


def _key_for_header(key: Any, protected: dict[str, Any]) -> Any:
    """Pick the key from a JWK Set by the header's ``kid`` (RFC 7515 §4.1.4)."""
    if isinstance(key, dict) and "keys" in key:
        key = KeySet.from_dict(key)
    if not isinstance(key, KeySet):
        return key
    kid = protected.get("kid")
    if kid is None:
        if len(key) == 1:
            return key.keys[0]
        raise KeyNotFoundError(
            f"the key set has {len(key)} keys and the token's header has no kid to choose "
            "one; issue tokens with headers={'kid': ...}"
        )
    return key.find(kid)


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
        return match.group(1, 2, 3)
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


def _check_header(protected: dict[str, Any], allowed: tuple[str, ...]) -> Algorithm:
    """Step 3: the algorithm is the caller's choice, and nothing in the header is unknown."""
    if "alg" not in protected:
        raise InvalidAlgorithmError(
            "the header has no 'alg'; every JWS names its algorithm (RFC 7515 §4.1.1)"
        )
    alg = protected["alg"]
    if alg not in allowed:  # "none" never is: _allowed() refuses it
        if is_none_algorithm(alg):
            raise UnsecuredAlgorithmError(
                f"the header says alg {alg!r}: an unsecured token with no signature, which "
                "anyone can forge (RFC 7518 §3.6); it is never accepted"
            )
        raise InvalidAlgorithmError(
            f"the token is signed with alg {alg!r}, but algorithms= allows only "
            f"{list(allowed)}; never let the token choose its own algorithm"
        )
    if "b64" in protected:
        if protected["b64"] is False:
            raise UnencodedPayloadError(
                "the header says b64: false (RFC 7797, unencoded payload); jwtlab reads only "
                "base64url payloads"
            )
        if protected["b64"] is not True:
            raise DecodeError(f"the header's b64 must be true or false, not {protected['b64']!r}")
    if "crit" in protected:
        crit = protected["crit"]
        if not isinstance(crit, list) or not crit or not all(isinstance(n, str) for n in crit):
            raise DecodeError(
                f"the header's crit must be a non-empty array of names (RFC 7515 §4.1.11), "
                f"not {crit!r}"
            )
        raise UnsupportedCriticalHeaderError(
            f"the header marks {crit} as critical (crit, RFC 7515 §4.1.11): the recipient must "
            "understand them or refuse the token, and jwtlab understands no extensions"
        )
    return get_algorithm(alg)


def _verify_signature(
    verifier: Algorithm,
    key: Any,
    protected: dict[str, Any],
    signing_input: bytes,
    signature: bytes,
    allow_weak_key: bool,
) -> None:
    """Step 5: the signature must verify over the signing input with the key."""
    verifying_key = _prepare_key(verifier, _key_for_header(key, protected), allow_weak_key)
    if not verifier.verify(signing_input, verifying_key, signature):
        raise InvalidSignatureError(
            f"the {verifier.name} signature does not match the header and payload: the "
            "token was altered or signed with another key; do not trust any of its claims"
        )


def decode_jws(
    token: str | bytes,
    key: Any,
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
    _verify_signature(verifier, key, protected, signing_input, signature, allow_weak_key)
    payload = decode_checked_alphabet(payload_segment, _SEGMENT_NAMES[1])
    return {"header": protected, "payload": payload, "signature": signature}


def decode_complete(
    token: str | bytes,
    key: Any,
    algorithms: Iterable[str],
    *,
    audience: str | Iterable[str] | None = None,
    issuer: str | Iterable[str] | None = None,
    subject: str | None = None,
    leeway: Any = 0,
    require: Iterable[str] = (),
    now: Any = None,
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
    key: Any,
    algorithms: Iterable[str],
    *,
    audience: str | Iterable[str] | None = None,
    issuer: str | Iterable[str] | None = None,
    subject: str | None = None,
    leeway: Any = 0,
    require: Iterable[str] = (),
    now: Any = None,
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
    levels of JSON nesting. Every refusal is a :class:`jwtlab.InvalidTokenError`
    (or :class:`jwtlab.InvalidKeyError` for a key that does not fit), whose message
    says what is wrong, the values involved and what to do.
    """
    return decode_complete(
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


def get_unverified_header(token: str | bytes) -> dict[str, Any]:
    """The header, decoded strictly but **not verified**: use it only to choose a key."""
    header_segment, _, _ = split_compact(token)
    return _decode_protected_header(header_segment)


# --- build(): the creation steps, recorded ----------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of making a token: what went in, what came out, and why."""

    name: str
    input: Any
    output: Any
    explanation: str


@dataclass
class Build:
    """The trace of :func:`build`: ``steps`` in order and the resulting ``token``."""

    algorithm: str
    protected: dict[str, Any]
    payload: dict[str, Any]
    header_segment: str
    payload_segment: str
    signing_input: bytes
    signature: bytes
    signature_segment: str
    token: str
    steps: list[Step] = field(default_factory=list)

    def _repr_html_(self) -> str:
        from jwtlab.display import build_html

        return build_html(self)

    def __str__(self) -> str:
        from jwtlab.display import build_text

        return build_text(self)

    __repr__ = __str__


def build(
    payload: dict[str, Any],
    key: Any,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    *,
    allow_weak_key: bool = False,
) -> Build:
    """Make a token as :func:`encode` does, recording every step (RFC 7519 §7.1).

    The trace shows in a notebook as jwt.io does (header, payload and signature in
    their own colours) and as plain text in a terminal; ``build(...).token`` is
    byte-identical to ``encode(...)`` with the same arguments (for the randomized
    algorithms, PS* and ES*, the first two segments are; the signatures differ).
    """
    signer = _algorithm_for_signing(algorithm)
    signing_key = _prepare_key(signer, key, allow_weak_key)
    steps: list[Step] = []

    protected = _protected_header(algorithm, headers)
    header_json = _to_json(protected, sort_keys=True)
    steps.append(
        Step(
            "header as JSON",
            protected,
            header_json,
            "The JOSE header names the signing algorithm; it is written as compact UTF-8 JSON "
            "(RFC 7515 §4).",
        )
    )
    header_segment = b64url_encode(header_json)
    steps.append(
        Step(
            "header as base64url",
            header_json,
            header_segment,
            "The header bytes are base64url-encoded without padding: the first segment "
            "(RFC 7515 §2).",
        )
    )
    claims_set = _claims_with_numeric_dates(payload)
    payload_json = _to_json(claims_set)
    steps.append(
        Step(
            "payload as JSON",
            payload,
            payload_json,
            "The claims set is written as compact UTF-8 JSON, times as NumericDate seconds "
            "(RFC 7519 §7.1).",
        )
    )
    payload_segment = b64url_encode(payload_json)
    steps.append(
        Step(
            "payload as base64url",
            payload_json,
            payload_segment,
            "The payload bytes are base64url-encoded too: the second segment, readable by "
            "anyone, since encoding is not encryption.",
        )
    )
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    steps.append(
        Step(
            "signing input",
            (header_segment, payload_segment),
            signing_input,
            "The two segments joined by '.' are the bytes that get signed, so neither can "
            "change unnoticed (RFC 7515 §5.1).",
        )
    )
    signature = signer.sign(signing_input, signing_key)
    steps.append(
        Step(
            "signature",
            signing_input,
            signature,
            f"{signer.description} over the signing input with {describe_key(key)} gives "
            f"{len(signature)} bytes.",
        )
    )
    signature_segment = b64url_encode(signature)
    steps.append(
        Step(
            "signature as base64url",
            signature,
            signature_segment,
            "The signature bytes are base64url-encoded: the third segment.",
        )
    )
    token = f"{header_segment}.{payload_segment}.{signature_segment}"
    steps.append(
        Step(
            "token",
            (header_segment, payload_segment, signature_segment),
            token,
            "The three segments joined by '.' are the JWT in compact serialization "
            "(RFC 7515 §7.1).",
        )
    )
    return Build(
        algorithm=algorithm,
        protected=protected,
        payload=claims_set,
        header_segment=header_segment,
        payload_segment=payload_segment,
        signing_input=signing_input,
        signature=signature,
        signature_segment=signature_segment,
        token=token,
        steps=steps,
    )


# --- inspect(): an unverified explanation -----------------------------------------------

HEADER_PARAMETERS: dict[str, str] = {
    "alg": "Algorithm used to sign the token (RFC 7515 §4.1.1)",
    "jku": "URL of a JWK Set holding the key (RFC 7515 §4.1.2)",
    "jwk": "the public key itself, as a JWK (RFC 7515 §4.1.3)",
    "kid": "Key ID: which key signed it (RFC 7515 §4.1.4)",
    "x5u": "URL of an X.509 certificate chain (RFC 7515 §4.1.5)",
    "x5c": "X.509 certificate chain (RFC 7515 §4.1.6)",
    "x5t": "SHA-1 thumbprint of the X.509 certificate (RFC 7515 §4.1.7)",
    "x5t#S256": "SHA-256 thumbprint of the X.509 certificate (RFC 7515 §4.1.8)",
    "typ": "media type of the whole token, usually JWT (RFC 7515 §4.1.9, RFC 7519 §5.1)",
    "cty": "media type of the payload, e.g. JWT for a nested token (RFC 7515 §4.1.10)",
    "crit": "extensions the recipient must understand (RFC 7515 §4.1.11)",
    "b64": "whether the payload is base64url-encoded (RFC 7797 §3)",
}


@dataclass(frozen=True)
class Field:
    """One header parameter or claim, explained."""

    name: str
    value: Any
    kind: str  # "registered", "public" or "private"
    meaning: str
    reading: str = ""  # e.g. "2026-01-01T10:00:00Z, expires in 5 min"
    warning: str = ""


@dataclass
class Inspection:
    """What :func:`inspect` found: segments, header, claims, signature, and warnings."""

    token: str
    header_segment: str
    payload_segment: str
    signature_segment: str
    header: dict[str, Any]
    payload: dict[str, Any]
    signature: bytes
    header_fields: list[Field]
    claims: list[Field]
    warnings: list[str]
    now: float

    def _repr_html_(self) -> str:
        from jwtlab.display import inspection_html

        return inspection_html(self)

    def __str__(self) -> str:
        from jwtlab.display import inspection_text

        return inspection_text(self)

    __repr__ = __str__


def _time_reading(name: str, value: Any, now: float) -> tuple[str, str]:
    """(reading, warning) for a time claim, relative to ``now``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "", f"{name} is not a NumericDate (a JSON number of seconds); decode() refuses it"
    if abs(value) >= claims_module.MILLISECONDS_THRESHOLD:
        return (
            f"as milliseconds: {claims_module.format_utc(value / 1000)}",
            claims_module.explain_milliseconds(name, value),
        )
    moment = claims_module.format_utc(value)
    distance = claims_module.describe_duration(value - now)
    future = value > now
    if name == "exp":
        relative = f"expires in {distance}" if future else f"expired {distance} ago"
    elif name == "nbf":
        relative = f"valid in {distance}" if future else f"valid since {distance} ago"
    else:
        relative = f"issued {distance} in the future" if future else f"issued {distance} ago"
    warning = f"iat is {distance} in the future" if name == "iat" and future else ""
    return f"{moment}, {relative}", warning


def inspect(token: str | bytes, *, now: Any = None) -> Inspection:
    """Explain every part of ``token`` **without verifying it** (anyone can read a JWT).

    Each header parameter and claim is named, classified (registered RFC 7519 §4.1,
    public §4.2, private §4.3) and explained; time claims are read as UTC datetimes
    relative to ``now`` (epoch seconds or an aware datetime; the clock if None), and a
    NumericDate that looks like milliseconds is flagged.
    """
    header_segment, payload_segment, signature_segment = split_compact(token)
    header = _decode_protected_header(header_segment)
    payload = parse_json_object(
        decode_checked_alphabet(payload_segment, _SEGMENT_NAMES[1]), "payload"
    )
    signature = decode_checked_alphabet(signature_segment, _SEGMENT_NAMES[2])
    current = claims_module.resolve_now(now)
    warnings: list[str] = []

    header_fields = [
        Field(
            name,
            value,
            "registered" if name in HEADER_PARAMETERS else "private",
            HEADER_PARAMETERS.get(name, "a header parameter of the issuer's own"),
        )
        for name, value in header.items()
    ]
    alg = header.get("alg")
    if is_none_algorithm(alg):
        warnings.append(f"alg is {alg!r}: the token is unsigned and anyone could have made it")
    if not signature and not is_none_algorithm(alg):
        warnings.append("the signature segment is empty")

    claim_fields = []
    for name, value in payload.items():
        kind = claims_module.classify(name)
        if kind == "registered":
            meaning = claims_module.REGISTERED_CLAIMS[name]
        elif kind == "public":
            meaning = claims_module.PUBLIC_CLAIMS.get(
                name, "a collision-resistant name (RFC 7519 §4.2)"
            )
        else:
            meaning = "agreed between issuer and recipient only (RFC 7519 §4.3)"
        reading = warning = ""
        if name in claims_module.TIME_CLAIMS:
            reading, warning = _time_reading(name, value, current)
        if warning:
            warnings.append(warning)
        claim_fields.append(Field(name, value, kind, meaning, reading, warning))
    warnings.append("not verified: inspect() reads a token, decode() checks it")

    return Inspection(
        token=f"{header_segment}.{payload_segment}.{signature_segment}",
        header_segment=header_segment,
        payload_segment=payload_segment,
        signature_segment=signature_segment,
        header=header,
        payload=payload,
        signature=signature,
        header_fields=header_fields,
        claims=claim_fields,
        warnings=warnings,
        now=current,
    )
