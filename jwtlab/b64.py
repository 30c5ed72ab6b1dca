"""base64url without padding, strictly (RFC 7515 §2, RFC 4648 §5).

JWS writes every binary value as ``BASE64URL(octets)``: the URL-safe alphabet of
RFC 4648 §5 (``-`` and ``_`` in place of ``+`` and ``/``) with the trailing ``=``
padding removed (RFC 7515 §2). Encoding is unambiguous; decoding here is too: every
byte string has exactly one spelling, and anything else is refused with a message that
names the character, its position and why:

- padding ``=``, whitespace, line breaks and characters outside the alphabet;
- ``+`` and ``/`` (standard base64, not base64url);
- a length that leaves one lone character (it cannot hold a whole byte);
- non-zero unused bits in the last character (a second spelling of the same bytes,
  RFC 4648 §3.5), which is how a lenient decoder lets an altered token through.
"""

from __future__ import annotations

import binascii
import re

from jwtlab.errors import Base64urlError

__all__ = ["ALPHABET", "b64url_decode", "b64url_encode"]

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

_ALPHABET_ONLY = re.compile(r"[A-Za-z0-9_-]*")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_FROM_STANDARD = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")
# With 2 (or 3) characters in the last group, the last character carries 4 (or 2) bits
# that belong to no byte; the canonical encoding sets them to zero.
_UNUSED_BITS = {2: 4, 3: 2}
_CANONICAL_LAST = {
    remainder: frozenset(ALPHABET[value] for value in range(64) if value % (1 << bits) == 0)
    for remainder, bits in _UNUSED_BITS.items()
}


def b64url_encode(data: bytes) -> str:
    """Return ``BASE64URL(data)``: URL-safe base64 without ``=`` padding (RFC 7515 §2)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(
            f"b64url_encode() takes bytes, not {type(data).__name__}; "
            "encode text first, e.g. text.encode('utf-8')"
        )
    standard = binascii.b2a_base64(data, newline=False)
    return standard.translate(_FROM_STANDARD).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes, *, what: str = "base64url text") -> bytes:
    """Decode strict unpadded base64url; raise :class:`Base64urlError` on anything else.

    ``what`` names the text in error messages (``"payload segment"``).
    """
    if isinstance(text, bytes | bytearray):
        raw = bytes(text)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")  # still report the offending character
    if not isinstance(text, str):
        raise TypeError(f"b64url_decode() takes str, not {type(text).__name__}")
    if _ALPHABET_ONLY.fullmatch(text) is None:
        raise _alphabet_error(text, what)
    return decode_checked_alphabet(text, what)


def decode_checked_alphabet(text: str, what: str) -> bytes:
    """Decode ``text`` already known to use only the base64url alphabet.

    Checks the length and the unused bits of the last character, then decodes.
    (Used by :mod:`jwtlab.token`, which checks the alphabet of all three segments at once.)
    """
    remainder = len(text) % 4
    if remainder:
        if remainder == 1:
            raise Base64urlError(
                f"{what} has {len(text)} characters, which is one too many or three too few: "
                "a last group of a single base64url character cannot hold a whole byte "
                "(RFC 4648 §5); the text was truncated or has a stray character"
            )
        last = text[-1]
        if last not in _CANONICAL_LAST[remainder]:
            raise _unused_bits_error(text, what, remainder)
    return binascii.a2b_base64(text.encode("ascii").translate(_TO_STANDARD) + _PADDING[remainder])


def _alphabet_error(text: str, what: str) -> Base64urlError:
    position, character = next(
        (index, char) for index, char in enumerate(text) if char not in ALPHABET
    )
    where = f"{what}: character {character!r} at position {position}"
    if character == "=":
        reason = (
            "is padding; JWS uses base64url *without* padding (RFC 7515 §2); "
            "strip the trailing '=' characters"
        )
    elif character in "+/":
        replacement = "-" if character == "+" else "_"
        reason = (
            "belongs to standard base64 (RFC 4648 §4), not base64url (§5); "
            f"the base64url spelling uses {replacement!r} instead"
        )
    elif character.isspace():
        reason = (
            "is whitespace; a JWT contains no spaces or line breaks, so copy it again without them"
        )
    elif character == ".":
        reason = "is a dot, which separates segments and cannot appear inside one"
    else:
        reason = (
            f"is not in the base64url alphabet (A-Z a-z 0-9 - _; code point U+{ord(character):04X})"
        )
    return Base64urlError(f"{where} {reason}")


def _unused_bits_error(text: str, what: str, remainder: int) -> Base64urlError:
    last = text[-1]
    bits = _UNUSED_BITS[remainder]
    value = ALPHABET.index(last)
    canonical = ALPHABET[value >> bits << bits]
    return Base64urlError(
        f"{what}: last character {last!r} at position {len(text) - 1} has non-zero unused "
        f"bits (its low {bits} bits belong to no byte, RFC 4648 §3.5); the canonical "
        f"spelling of the same bytes ends in {canonical!r}. Two spellings for one value is "
        "how altered tokens slip past lenient decoders, so this one is refused"
    )
