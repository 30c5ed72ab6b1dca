"""``python -m jwtlab.web``: serve the login flows; the same as ``jwtlab serve``."""

from __future__ import annotations

import sys

from jwtlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
