"""The confusables table and the UTS #39 skeleton built on it (`jwtlab.auth.confusables`)."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from pathlib import Path

import pytest

from jwtlab import auth
from jwtlab.auth import confusables

TOOL = Path(__file__).resolve().parent.parent / "tools" / "confusables_table.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("confusables_table", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_table_is_the_one_derived_from_confusable_homoglyphs():
    tool = load_tool()
    derived = tool.derive_prototypes(tool.package_json())
    assert confusables.TABLE_PATH.read_text("utf-8") == tool.render(derived), (
        "jwtlab/auth/confusables.tsv differs from what tools/confusables_table.py derives; run it"
    )
    assert len(derived) == len(confusables.prototypes()) == 6307


def test_the_derivation_recovers_each_direction():
    tool = load_tool()
    package_json = {  # as confusable-homoglyphs stores lines: both ways, RTL marked
        "a": [{"c": "x"}],  # a pair of one character each: the first key is the source
        "x": [{"c": "a"}],
        "\u200eb\u200e": [{"c": "y"}],
        "y": [{"c": "\u200eb\u200e"}, {"c": "z"}],  # y has two neighbours: the prototype
        "z": [{"c": "y"}],
        "m": [{"c": "rn"}],
        "rn": [{"c": "m"}],  # two characters: the prototype
    }
    assert tool.derive_prototypes(package_json) == {"a": "x", "b": "y", "m": "rn", "z": "y"}
    with pytest.raises(tool.TableError, match="contains a source"):
        tool.derive_prototypes({"a": [{"c": "bc"}], "bc": [{"c": "a"}], "b": [{"c": "d"}],
                                "d": [{"c": "b"}]})  # fmt: skip


def test_every_source_is_one_code_point_and_no_prototype_maps_again():
    table = confusables.prototypes()
    for source, prototype in table.items():
        assert 0 <= source <= 0x10FFFF and prototype
        assert not any(ord(char) in table for char in prototype), hex(source)

    # yet the NFD after the mapping can uncover a source, so one pass of the definition is
    # not always a fixed point (13 characters); the skeleton repeats it until it is
    def one_pass(text: str) -> str:
        return unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).translate(table))

    not_fixed = [
        source for source in table if one_pass(one_pass(chr(source))) != one_pass(chr(source))
    ]
    assert len(not_fixed) == 13 and 0x01C4 in not_fixed  # Ǆ -> DŽ, whose caron maps to a breve
    for source in table:
        once = confusables.skeleton(chr(source))
        assert confusables.skeleton(once) == once, hex(source)
    assert confusables.skeleton("Ǆ") == confusables.skeleton("DŽ") == "DZ\u0306"


@pytest.mark.parametrize(
    ("text", "skeleton"),
    [
        ("асе", "ace"),  # Cyrillic
        ("ΑΒΕ", "ABE"),  # Greek
        ("ᎪᏴᎬ", "ABE"),  # Cherokee
        ("B0B", "BOB"),
        ("biII", "bill"),
        ("amold", "arnold"),
        ("❤️", "❤"),
        ("e\u0301", "e\u0301"),  # NFD: é stays e + combining acute
        ("é", "e\u0301"),
    ],
)
def test_skeletons(text, skeleton):
    assert confusables.skeleton(text) == skeleton


def test_the_lines_the_package_lost_cannot_reach_a_name():
    # Unicode's confusables.txt (10.0.0 and 17.0.0 alike) maps U+2028, U+2029 to a space and
    # U+3164 to U+1160; the package lacks those three. The name rule refuses the first two,
    # and NFKC turns the third into its prototype.
    table = confusables.prototypes()
    assert not {0x2028, 0x2029, 0x3164} & table.keys()
    for separator in ("\u2028", "\u2029"):
        with pytest.raises(auth.InvalidUserNameError, match=re.escape(f"U+{ord(separator):04X}")):
            auth.normalize_name(f"ali{separator}ce")
    assert unicodedata.normalize("NFKC", "\u3164") == "\u1160"


def test_the_dropped_characters_draw_nothing():
    for first, last in confusables._INVISIBLE_RANGES:
        for codepoint in (first, last):
            char = chr(codepoint)
            assert unicodedata.category(char) in {"Mn", "Lo"}
            assert any(
                word in unicodedata.name(char)
                for word in ("VARIATION SELECTOR", "FILLER", "GRAPHEME JOINER", "INHERENT")
            )


def test_drawn_alike_lists_each_mapped_character_once():
    assert confusables.drawn_alike("аа b") == [("а", "a")]
    assert confusables.drawn_alike("plain") == []
