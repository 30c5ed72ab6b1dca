"""How a token looks: jwt.io-style HTML for notebooks, plain text for terminals.

Renders the :class:`~jwtlab.token.Build` trace of :func:`jwtlab.build` and the
:class:`~jwtlab.token.Inspection` of :func:`jwtlab.inspect`. The colours are jwt.io's:
header red, payload violet, signature blue. Only the standard library is used (no
matplotlib), so ``import jwtlab`` stays light; everything is escaped.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jwtlab.token import Build, Field, Inspection

__all__ = ["COLOURS", "build_html", "build_text", "inspection_html", "inspection_text"]

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
