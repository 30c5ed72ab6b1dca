"""The matplotlib figures the notebooks share.

Every figure is readable on a projector: large type, thick lines, a title that says
what to see. At ``JWTLAB_PACE=class`` (see :mod:`jwtlab.pace`) figures are larger
still. Each function returns the ``Figure`` so a notebook cell can end with it.
Figures that only one notebook needs are grouped under that notebook's number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cycler import cycler  # installed with matplotlib

from jwtlab import pace

# Colours that stay distinct for colour-blind readers (Okabe–Ito).
COLOURS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "red": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = list(COLOURS.values())


def _rc() -> dict:
    scale = pace.pick(1.0, 1.4)
    return {
        "figure.figsize": (8 * scale, 4.5 * scale),
        "figure.dpi": 100,
        "font.size": 12 * scale,
        "axes.titlesize": 14 * scale,
        "axes.labelsize": 12 * scale,
        "legend.fontsize": 11 * scale,
        "lines.linewidth": 2.2 * scale,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.prop_cycle": cycler(color=PALETTE),
    }


@contextmanager
def style() -> Iterator[None]:
    """The kit's look, for a figure drawn by hand in a notebook cell."""
    import matplotlib.pyplot as plt

    with plt.rc_context(_rc()):
        yield


def figure(title: str, xlabel: str, ylabel: str, *, ncols: int = 1):
    """A new figure in the kit's style: ``fig, ax = plots.figure(...)``.

    The figure is not registered with pyplot, so it is shown once: by the cell that
    returns it.
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    with plt.rc_context(_rc()):
        fig = Figure(layout="constrained")
        axes = fig.subplots(1, ncols)
        first = axes if ncols == 1 else axes[0]
        fig.suptitle(title)
        for ax in [first] if ncols == 1 else list(axes):
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
    return fig, axes
