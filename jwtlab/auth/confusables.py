"""Confusable skeletons: when two names look the same (Unicode TR #39 §4).

Cyrillic ``асе`` and Latin ``ace`` are different letters drawn alike. UTS #39 gives every
character a *prototype*, the character it is drawn like (``а`` U+0430 -> ``a``, ``0`` -> ``O``,
capital ``I`` -> ``l``, ``m`` -> ``rn``), and defines

    skeleton(X) = NFD(X), each character replaced by its prototype, NFD again

so that two strings look the same exactly when their skeletons are equal: ``skeleton("асе")
== skeleton("ace") == "ace"``. A skeleton is for comparing, never for display: it mixes
scripts and cases at will.

Unicode's table is not quite closed under NFD: for 13 characters the last NFD uncovers a
character that has a prototype of its own (``Ǆ`` -> ``DŽ``, whose NFD holds a caron, which
the table draws as a breve). So the mapping and the NFD are repeated until nothing changes:
names that one pass finds alike stay alike, and ``skeleton(skeleton(x)) == skeleton(x)``.

The prototypes are Unicode's own data (``confusables.txt`` 15.1.0, 6,307 characters), in
``confusables.tsv`` beside this module; ``tools/confusables_table.py`` derives it from the
PyPI package confusable-homoglyphs 3.3.1, and ``docs/sources.md`` says how. The table is read
on first use (about 20 ms).

One step is ours: characters that are invisible by definition (Unicode's
Default_Ignorable_Code_Point) and that a name may still hold are dropped before the mapping:
variation selectors (``❤`` and ``❤️`` look the same), the combining grapheme joiner, Hangul
fillers. The name rule already refuses the other ignorables, which are format characters.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import cache
from pathlib import Path

TABLE_PATH = Path(__file__).with_name("confusables.tsv")

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt) outside the general categories the
# name rule refuses (Cf, Cn): marks and letters that draw nothing.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ, AA
    (0x180B, 0x180D),  # MONGOLIAN FREE VARIATION SELECTOR ONE..THREE
    (0x180F, 0x180F),  # MONGOLIAN FREE VARIATION SELECTOR FOUR
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTOR-1..16
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xE0100, 0xE01EF),  # VARIATION SELECTOR-17..256
)
_DROP_INVISIBLE = {
    codepoint: None for first, last in _INVISIBLE_RANGES for codepoint in range(first, last + 1)
}


@cache
def prototypes() -> dict[int, str]:
    """Unicode's prototypes as a `str.translate` table: code point -> prototype string."""
    table: dict[int, str] = {}
    for line in TABLE_PATH.read_text("utf-8").splitlines():
        if line.startswith("#") or not line:
            continue
        source, prototype = line.split("\t")
        table[int(source, 16)] = "".join(chr(int(code, 16)) for code in prototype.split())
    return table


@cache
def table_fingerprint() -> str:
    """A short digest of the table, so that a database knows which one made its skeletons."""
    return hashlib.sha256(TABLE_PATH.read_bytes()).hexdigest()[:12]


def skeleton(text: str) -> str:
    """The UTS #39 skeleton of ``text``; equal skeletons mean the strings look the same.

    >>> skeleton("асе")            # Cyrillic
    'ace'
    >>> skeleton("ΑΒΕ")            # Greek capitals
    'ABE'
    >>> skeleton("B0B") == skeleton("BOB")
    True
    """
    result = unicodedata.normalize("NFD", text).translate(_DROP_INVISIBLE)
    while True:
        mapped = unicodedata.normalize("NFD", result.translate(prototypes()))
        if mapped == result:
            return result
        result = mapped


def drawn_alike(text: str) -> list[tuple[str, str]]:
    """The characters of ``text`` that the table draws like something else, with what.

    >>> drawn_alike("Саша")
    [('С', 'C'), ('а', 'a')]
    """
    table = prototypes()
    found: dict[str, str] = {}
    for char in unicodedata.normalize("NFD", text):
        prototype = table.get(ord(char))
        if prototype is not None:
            found.setdefault(char, prototype)
    return list(found.items())
