"""One setting for the long or slow demos: how fast the notebooks run. ::

    JWTLAB_PACE=quick   (default) short demos: what CI and a student's first run use
    JWTLAB_PACE=class   slow and large, for an instructor at a projector: more keys,
                        longer TTLs, live countdowns, bigger figures

Set it before starting JupyterLab (``JWTLAB_PACE=class make lab``) or in a notebook's
first cell (``os.environ["JWTLAB_PACE"] = "class"``, then restart the kernel). The
committed notebook outputs are those of the quick pace, which nbval checks.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

PACES = ("quick", "class")


def current() -> str:
    """The pace in force: "quick" or "class"."""
    pace = os.environ.get("JWTLAB_PACE", "").strip().lower() or "quick"
    if pace not in PACES:
        raise ValueError(
            f"JWTLAB_PACE={pace!r} is not a pace; use 'quick' (the default) or 'class'"
        )
    return pace


def is_class() -> bool:
    """True when an instructor asked for the slow, large demos."""
    return current() == "class"


def pick(quick: T, class_: T) -> T:
    """The value for the current pace: ``pick(quick=20, class_=2000)`` keys."""
    return class_ if is_class() else quick
