"""Strict unpadded base64url (RFC 7515 §2, RFC 4648 §5)."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jwtlab import Base64urlError, b64url_decode, b64url_encode

# RFC 4648 §10, in the URL-safe alphabet without padding
RFC4648_VECTORS = [
    (b"", ""),
    (b"f", "Zg"),
    (b"fo", "Zm8"),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg"),
    (b"fooba", "Zm9vYmE"),
    (b"foobar", "Zm9vYmFy"),
]


@pytest.mark.parametrize(("data", "text"), RFC4648_VECTORS)
def test_rfc4648_vectors(data, text):
    assert b64url_encode(data) == text
    assert b64url_decode(text) == data


def test_url_safe_alphabet():
    assert b64url_encode(b"\xfb\xff") == "-_8"
    assert b64url_decode("-_8") == b"\xfb\xff"


@given(st.binary(max_size=200))
def test_round_trip_and_agreement_with_the_standard_library(data):
    text = b64url_encode(data)
    assert b64url_decode(text) == data
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")


@given(st.binary(min_size=1, max_size=60))
def test_every_other_spelling_of_the_last_character_is_refused(data):
    text = b64url_encode(data)
    if len(text) % 4 == 0:
        return  # a full last group has no unused bits
    for replacement in "AQgwBRhx":
        altered = text[:-1] + replacement
        if altered != text:
            try:
                assert b64url_decode(altered) != data
            except Base64urlError as error:
                assert "unused bits" in str(error)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Zg==", "character '=' at position 2 is padding"),
        ("Zm+v", "'+' at position 2 belongs to standard base64"),
        ("Zm/v", "the base64url spelling uses '_'"),
        ("Zm 9v", "' ' at position 2 is whitespace"),
        ("Zm\n9v", "is whitespace"),
        ("Zm9v.", "is a dot"),
        ("Zmé", "code point U+00E9"),
        ("Zm9vY", "5 characters"),
        ("Zh", "last character 'h' at position 1 has non-zero unused bits"),
        ("Zm9", "ends in '8'"),
    ],
)
def test_refusals_name_the_character_position_and_reason(text, phrase):
    with pytest.raises(Base64urlError, match=re.escape(phrase)):
        b64url_decode(text)


def test_what_names_the_text_in_messages():
    with pytest.raises(Base64urlError, match=r"^payload segment: character"):
        b64url_decode("a=", what="payload segment")


def test_types():
    with pytest.raises(TypeError, match="encode text first"):
        b64url_encode("text")
    assert b64url_decode(b"Zm8") == b"fo"
    with pytest.raises(TypeError):
        b64url_decode(42)
