"""Explaining a token: :func:`build` (the making, step by step) and :func:`inspect`.

:mod:`jwtlab.token` signs and verifies; this module shows what happens, for people:
:func:`build` makes a token exactly as :func:`jwtlab.encode` does while recording
every step (RFC 7519 §7.1), and :func:`inspect` explains every part of a token
*without verifying it* (RFC 7515 §7.1, RFC 7519 §4). Both render jwt.io-style as HTML
in a notebook (header red, payload violet, signature blue, jwt.io's colours) and as
plain text in a terminal. Only the standard library draws (no matplotlib), so
``import jwtlab`` stays light; everything shown is HTML-escaped.

It imports from :mod:`jwtlab.token`, never the other way round.
"""

from __future__ import annotations

import dataclasses
import html
import json
from dataclasses import dataclass
from typing import Any

from jwtlab import claims as claims_module
from jwtlab.algorithms import KeyLike, describe_key, is_none_algorithm
from jwtlab.b64 import b64url_encode, decode_checked_alphabet
from jwtlab.claims import Now
from jwtlab.errors import InvalidNumericDateError, MillisecondNumericDateError, excerpt
from jwtlab.token import (
    algorithm_for_signing,
    claims_with_numeric_dates,
    get_unverified_header,
    header_problem,
    parse_json_object,
    prepare_key,
    protected_header,
    split_compact,
    to_json,
)

__all__ = [
    "COLOURS",
    "HEADER_PARAMETERS",
    "Build",
    "Field",
    "Inspection",
    "Step",
    "build",
    "build_html",
    "build_text",
    "inspect",
    "inspection_html",
    "inspection_text",
]


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
    steps: list[Step] = dataclasses.field(default_factory=list)

    def _repr_html_(self) -> str:
        return build_html(self)

    def __str__(self) -> str:
        return build_text(self)

    __repr__ = __str__


def build(
    payload: dict[str, Any],
    key: KeyLike,
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
    signer = algorithm_for_signing(algorithm)
    signing_key = prepare_key(signer, key, allow_weak_key)
    steps: list[Step] = []

    protected = protected_header(algorithm, headers)
    header_json = to_json(protected, "header", sort_keys=True)
    steps.append(
        Step(
            "header as JSON",
            protected,
            header_json,
            "The JOSE header names the signing algorithm; it is written as compact UTF-8 JSON "
            "(RFC 7515 §4), its members sorted by name, as PyJWT writes it: so the order "
            "you gave them in may change.",
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
    claims_set = claims_with_numeric_dates(payload)
    payload_json = to_json(claims_set, "claims")
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
        return inspection_html(self)

    def __str__(self) -> str:
        return inspection_text(self)

    __repr__ = __str__


def _time_reading(name: str, value: Any, now: float) -> tuple[str, str]:
    """(reading, warning) for a time claim, relative to ``now``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "", f"{name} is not a NumericDate (a JSON number of seconds); decode() refuses it"
    try:
        claims_module.check_numeric_date_range(name, value)
    except MillisecondNumericDateError as error:
        return f"as milliseconds: {claims_module.format_utc(value / 1000)}", str(error)
    except InvalidNumericDateError as error:  # compared only: no arithmetic on it
        return "", str(error)
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


def inspect(token: str | bytes, *, now: Now = None) -> Inspection:
    """Explain every part of ``token`` **without verifying it** (anyone can read a JWT).

    Each header parameter and claim is named, classified (registered RFC 7519 §4.1,
    public §4.2, private §4.3) and explained; time claims are read as UTC datetimes
    relative to ``now`` (epoch seconds or an aware datetime; the clock if None), and a
    NumericDate that looks like milliseconds is flagged. A header parameter of the wrong
    type is shown with a warning (``decode`` refuses it). What cannot be shown at all
    (not base64url, not I-JSON, a lone surrogate) is an :class:`InvalidTokenError`.
    """
    header_segment, payload_segment, signature_segment = split_compact(token)
    header = get_unverified_header(token)
    payload = parse_json_object(
        decode_checked_alphabet(payload_segment, "payload segment"), "payload"
    )
    signature = decode_checked_alphabet(signature_segment, "signature segment")
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
    problem = header_problem(header)
    if problem is not None:
        warnings.append(f"{problem[1]}; decode() refuses it")
    alg = header.get("alg")
    if is_none_algorithm(alg):
        warnings.append(
            f"alg is {excerpt(alg)}: the token is unsigned and anyone could have made it"
        )
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


# --- rendering: jwt.io-style HTML for notebooks, plain text for terminals ------------

COLOURS = {"header": "#fb015b", "payload": "#d63aff", "signature": "#00b9f1"}
_MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"


def _show(value: Any, limit: int = 400) -> str:
    """A value as a student should see it: JSON for dicts, text for bytes when possible."""
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
            shown = f"b'{text}'" if text.isprintable() else repr(value)
        except UnicodeDecodeError:
            shown = f"{len(value)} bytes: {value.hex()}"
    elif isinstance(value, dict):
        shown = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, tuple):
        shown = " , ".join(_show(item, limit) for item in value)
    else:
        shown = str(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _coloured_token(header: str, payload: str, signature: str) -> str:
    parts = (("header", header), ("payload", payload), ("signature", signature))
    spans = [
        f'<span style="color:{COLOURS[part]}">{html.escape(text)}</span>' for part, text in parts
    ]
    return '<span style="color:#000">.</span>'.join(spans)


def _json_block(value: dict[str, Any], colour: str) -> str:
    text = html.escape(json.dumps(value, indent=2, ensure_ascii=False))
    return f'<pre style="margin:0;color:{colour};{_MONO};white-space:pre-wrap">{text}</pre>'


def _token_panel(header_segment: str, payload_segment: str, signature_segment: str) -> str:
    token = _coloured_token(header_segment, payload_segment, signature_segment)
    return (
        f'<div style="{_MONO};word-break:break-all;font-size:1.05em;margin:0.5em 0">{token}</div>'
    )


def _decoded_panel(header: dict[str, Any], payload: dict[str, Any], signature_note: str) -> str:
    return (
        '<div style="display:flex;gap:1em;flex-wrap:wrap">'
        f'<div><b style="color:{COLOURS["header"]}">HEADER</b>'
        f"{_json_block(header, COLOURS['header'])}</div>"
        f'<div><b style="color:{COLOURS["payload"]}">PAYLOAD</b>'
        f"{_json_block(payload, COLOURS['payload'])}</div>"
        f'<div><b style="color:{COLOURS["signature"]}">SIGNATURE</b>'
        f'<pre style="margin:0;color:{COLOURS["signature"]};{_MONO};white-space:pre-wrap">'
        f"{html.escape(signature_note)}</pre></div></div>"
    )


def build_html(trace: Build) -> str:
    """The token coloured as on jwt.io, the decoded parts beside it, then each step."""
    rows = "".join(
        "<tr>"
        f'<td style="text-align:left;vertical-align:top"><b>{number}. '
        f"{html.escape(step.name)}</b><br><small>{html.escape(step.explanation)}</small></td>"
        f'<td style="text-align:left;vertical-align:top;{_MONO};word-break:break-all">'
        f"{html.escape(_show(step.input))}</td>"
        f'<td style="text-align:left;vertical-align:top;{_MONO};word-break:break-all">'
        f"{html.escape(_show(step.output))}</td>"
        "</tr>"
        for number, step in enumerate(trace.steps, start=1)
    )
    signature_note = f"{trace.algorithm}: {len(trace.signature)} bytes\n{trace.signature.hex()}"
    return (
        '<div class="jwtlab-build">'
        f"{_token_panel(trace.header_segment, trace.payload_segment, trace.signature_segment)}"
        f"{_decoded_panel(trace.protected, trace.payload, signature_note)}"
        '<table style="margin-top:0.8em;table-layout:fixed;width:100%">'
        '<tr><th style="width:34%;text-align:left">step</th>'
        '<th style="text-align:left">input</th><th style="text-align:left">output</th></tr>'
        f"{rows}</table></div>"
    )


def build_text(trace: Build) -> str:
    """The steps as plain text, for a terminal or a doctest."""
    lines = [f"build({trace.algorithm}): {len(trace.steps)} steps"]
    for number, step in enumerate(trace.steps, start=1):
        lines.append(f"{number}. {step.name}: {step.explanation}")
        lines.append(f"     in:  {_show(step.input, 160)}")
        lines.append(f"     out: {_show(step.output, 160)}")
    lines.append(f"token: {trace.token}")
    return "\n".join(lines)


def _field_rows(fields: list[Field]) -> str:
    return "".join(
        "<tr>"
        f'<td style="text-align:left;{_MONO}">{html.escape(field.name)}</td>'
        f'<td style="text-align:left;{_MONO}">{html.escape(_show(field.value, 120))}</td>'
        f'<td style="text-align:left">{html.escape(field.kind)}</td>'
        f'<td style="text-align:left">{html.escape(field.meaning)}'
        + (f"<br><i>{html.escape(field.reading)}</i>" if field.reading else "")
        + (f'<br><b style="color:#c00">⚠ {html.escape(field.warning)}</b>' if field.warning else "")
        + "</td></tr>"
        for field in fields
    )


def inspection_html(view: Inspection) -> str:
    """The coloured token, decoded parts, then one table row per header field and claim."""
    head = (
        '<tr><th style="text-align:left">name</th><th style="text-align:left">value</th>'
        '<th style="text-align:left">kind</th><th style="text-align:left">meaning</th></tr>'
    )
    signature_note = f"{len(view.signature)} bytes\n{view.signature.hex()}"
    warnings = "".join(f"<li>{html.escape(warning)}</li>" for warning in view.warnings)
    return (
        '<div class="jwtlab-inspect">'
        f"{_token_panel(view.header_segment, view.payload_segment, view.signature_segment)}"
        f"{_decoded_panel(view.header, view.payload, signature_note)}"
        f'<h4 style="color:{COLOURS["header"]}">Header</h4>'
        f"<table>{head}{_field_rows(view.header_fields)}</table>"
        f'<h4 style="color:{COLOURS["payload"]}">Claims</h4>'
        f"<table>{head}{_field_rows(view.claims)}</table>"
        f"<ul>{warnings}</ul></div>"
    )


def _field_lines(fields: list[Field]) -> list[str]:
    lines = []
    for field in fields:
        lines.append(f"  {field.name} = {_show(field.value, 80)}  [{field.kind}] {field.meaning}")
        if field.reading:
            lines.append(f"      {field.reading}")
        if field.warning:
            lines.append(f"      ! {field.warning}")
    return lines


def inspection_text(view: Inspection) -> str:
    """Header fields, claims and warnings as plain text."""
    lines = [
        "header:",
        *_field_lines(view.header_fields),
        "claims:",
        *_field_lines(view.claims),
        f"signature: {len(view.signature)} bytes",
        *(f"! {warning}" for warning in view.warnings),
    ]
    return "\n".join(lines)
