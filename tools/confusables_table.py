"""Write ``jwtlab/auth/confusables.tsv``: Unicode's confusable prototypes (UTS #39 §4).

    uv pip install confusable-homoglyphs==3.3.1     (the test extra has it)
    python tools/confusables_table.py               write the table
    python tools/confusables_table.py --check       exit 1 if the committed table differs

The data is Unicode's ``confusables.txt`` as the PyPI package confusable-homoglyphs 3.3.1
bundles it (``confusables.json``, made by its ``update`` command from Unicode's
``security/latest/confusables.txt`` on 2024-01-30: version 15.1.0). That file has one line
per *source* character, ``source ; prototype``: the prototype is the character (or short
string) the source is drawn like, and a prototype is never a source itself. The package keeps
each line in both directions, with no direction marked, so this script recovers it:

1. Its keys are the characters as printed in the file's comments, where right-to-left ones are
   wrapped in LEFT-TO-RIGHT MARKs (U+200E): those are removed.
2. Each line is an edge between a source and its prototype. A source has one prototype and a
   prototype is never a source, so every connected group is a star with the prototype at its
   centre: the one member with two or more neighbours, or, in a group of two, the member that
   is more than one character long.
3. In a group of two single characters (1,440 of them), the package's generator added the
   line's source as a key before its prototype, and ``json`` keeps that order.

Then it checks what must hold (one code point per source, no prototype character is a source)
and writes one line per source, sorted by code point, in hexadecimal. Three mappings that
Unicode's 10.0.0 and 17.0.0 files both have are missing from the package: U+2028 and U+2029
(-> a space) and U+3164 HANGUL FILLER (-> U+1160). They cannot matter for a name: the name
rule refuses line and paragraph separators, and NFKC already turns U+3164 into U+1160.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from importlib import metadata, resources
from pathlib import Path

PACKAGE = "confusable-homoglyphs"
PACKAGE_VERSION = "3.3.1"
UNICODE_VERSION = "15.1.0"
TABLE = Path(__file__).resolve().parent.parent / "jwtlab" / "auth" / "confusables.tsv"
LEFT_TO_RIGHT_MARK = "\u200e"

HEADER = f"""\
# Unicode's confusable prototypes (UTS #39 section 4, confusables.txt {UNICODE_VERSION}):
# one line per source character, "SOURCE<TAB>PROTOTYPE", code points in hexadecimal.
# skeleton(X) = NFD(X), each character replaced by its prototype, NFD again.
#
# Derived, not edited: the mappings of {PACKAGE} {PACKAGE_VERSION} (confusables.json), with
# the direction of each mapping recovered and the file re-formatted by
# tools/confusables_table.py. Do not edit by hand; run that script.
#
# Data: Copyright (c) 1991-2023 Unicode, Inc. Unicode License V3 (SPDX: Unicode-3.0),
# in confusables.LICENSE beside this file, with {PACKAGE}'s MIT notice.
"""


class TableError(ValueError):
    """The package's data does not have the shape the derivation relies on."""


def derive_prototypes(package_json: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    """source character -> prototype string, from confusable-homoglyphs' undirected JSON."""
    neighbours: dict[str, list[str]] = defaultdict(list)
    key_order: dict[str, int] = {}
    for key, entries in package_json.items():
        node = key.replace(LEFT_TO_RIGHT_MARK, "")
        key_order.setdefault(node, len(key_order))
        neighbours[node].extend(entry["c"].replace(LEFT_TO_RIGHT_MARK, "") for entry in entries)

    prototypes: dict[str, str] = {}
    seen: set[str] = set()
    for start in neighbours:
        if start in seen:
            continue
        group = _connected_group(start, neighbours)
        seen.update(group)
        centre = _prototype_of(group, neighbours, key_order)
        for member in group:
            if member != centre:
                prototypes[member] = centre
    _check(prototypes)
    return dict(sorted(prototypes.items()))


def _connected_group(start: str, neighbours: dict[str, list[str]]) -> list[str]:
    group, index = [start], 0
    members = {start}
    while index < len(group):
        for other in neighbours[group[index]]:
            if other not in members:
                members.add(other)
                group.append(other)
        index += 1
    return group


def _prototype_of(
    group: list[str], neighbours: dict[str, list[str]], key_order: dict[str, int]
) -> str:
    if len(group) > 2:
        centres = [member for member in group if len(neighbours[member]) > 1]
        if len(centres) != 1:
            raise TableError(f"a group with {len(centres)} centres: {group!r}")
        return centres[0]
    first, second = group
    if len(first) > 1 and len(second) > 1:
        raise TableError(f"two strings map to each other: {group!r}")
    if len(first) > 1 or len(second) > 1:
        return first if len(first) > 1 else second
    return second if key_order[first] < key_order[second] else first


def _check(prototypes: dict[str, str]) -> None:
    for source, prototype in prototypes.items():
        if len(source) != 1:
            raise TableError(f"a source of more than one character: {source!r}")
        if any(char in prototypes for char in prototype):
            raise TableError(f"the prototype of {source!r} contains a source: {prototype!r}")


def render(prototypes: dict[str, str]) -> str:
    lines = [
        f"{ord(source):04X}\t{' '.join(f'{ord(char):04X}' for char in prototype)}"
        for source, prototype in prototypes.items()
    ]
    return HEADER + "\n".join(lines) + "\n"


def package_json() -> dict[str, list[dict[str, str]]]:
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        sys.exit(f"{PACKAGE} is not installed: uv pip install {PACKAGE}=={PACKAGE_VERSION}")
    if version != PACKAGE_VERSION:
        sys.exit(
            f"{PACKAGE} {version} is installed; this table is made from {PACKAGE_VERSION}. "
            f"Install it, or update PACKAGE_VERSION and UNICODE_VERSION here after checking "
            "which confusables.txt the new version bundles"
        )
    data = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    return json.loads(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    options = parser.parse_args(argv)
    text = render(derive_prototypes(package_json()))
    if options.check:
        if TABLE.read_text("utf-8") != text:
            print(f"{TABLE} differs from what {PACKAGE} {PACKAGE_VERSION} gives; run {__file__}")
            return 1
        print(f"{TABLE}: up to date")
        return 0
    TABLE.write_text(text, "utf-8")
    print(f"wrote {TABLE}: {text.count(chr(10)) - HEADER.count(chr(10))} prototypes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
