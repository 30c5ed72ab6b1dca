"""The matplotlib figures the notebooks share.

Every figure is readable on a projector: large type, thick lines, a title that says
what to see. At ``JWTLAB_PACE=class`` (see :mod:`jwtlab.pace`) figures are larger
still. Each function returns the ``Figure`` so a notebook cell can end with it.
Figures that only one notebook needs are grouped under that notebook's number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cycler import cycler  # installed with matplotlib

from jwtlab import pace

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn: `import jwtlab` stays light
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

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


def _rc() -> dict[RcKeyType, Any]:
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


def figure(title: str, xlabel: str, ylabel: str, *, ncols: int = 1) -> tuple[Figure, Any]:
    """A new figure in the kit's style: ``fig, ax = plots.figure(...)``.

    ``ax`` is one ``Axes``, or an array of ``ncols`` of them (as ``Figure.subplots`` gives).

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


def _distribution(
    hist_ax: Axes,
    share_ax: Axes,
    values_by_name: dict[str, list[float]],
    *,
    bins: list[float],
    share_title: str,
    share_ylabel: str,
    median_unit: str | None = None,
) -> None:
    """Draw each series twice: as a step histogram on ``hist_ax``, and on ``share_ax`` as
    the share of its values at or below x (with its median in the legend if
    ``median_unit`` is given)."""
    for name, values in values_by_name.items():
        ordered = sorted(values)
        hist_ax.hist(ordered, bins=bins, histtype="step", linewidth=2.2, label=name)
        shares = [(i + 1) / len(ordered) for i in range(len(ordered))]
        label = name
        if median_unit is not None:
            label = f"{name}: median {ordered[len(ordered) // 2]:.0f} {median_unit}"
        share_ax.step(ordered, shares, where="post", label=label)
    hist_ax.set_title("distribution")
    share_ax.set_title(share_title)
    share_ax.set_ylabel(share_ylabel)
    share_ax.set_ylim(0, 1.05)
    share_ax.legend(loc="lower right")


# --- 01 · Redis as a remote dictionary -------------------------------------------------


def cache_queries(queries_by_run: dict[str, list[int]], *, window: int = 25) -> Figure:
    """Database queries per request for the same workload, one line per run.

    ``queries_by_run`` maps a run's name ("no cache", "cache-aside") to the number of
    database queries each request caused (0 or 1). Left: queries per request averaged
    over a moving ``window``; right: the cumulative count.
    """
    fig, (rate_ax, total_ax) = figure(
        "Redis in front of the database: queries that reach SQLite",
        "request number",
        "queries per request",
        ncols=2,
    )
    for name, queries in queries_by_run.items():
        requests = range(1, len(queries) + 1)
        moving = [
            sum(queries[max(0, i - window + 1) : i + 1]) / min(window, i + 1)
            for i in range(len(queries))
        ]
        cumulative = []
        total = 0
        for count in queries:
            total += count
            cumulative.append(total)
        rate_ax.plot(requests, moving, label=name)
        total_ax.plot(requests, cumulative, label=name)
    rate_ax.set_title(f"moving average over {window} requests")
    rate_ax.set_ylim(-0.05, 1.1)
    total_ax.set_title("cumulative")
    total_ax.set_ylabel("database queries so far")
    total_ax.legend()
    return fig


# --- 02 · TTL and expiry -----------------------------------------------------------------


def expiry_delays(delays_by_run: dict[str, list[float]]) -> Figure:
    """How long after its deadline each key's ``expired`` event arrived, one series per run.

    ``delays_by_run`` maps a run's name ("untouched, hz 10", ...) to the delays in
    milliseconds. Left: histogram; right: the share of keys deleted within x ms.
    """
    fig, (hist_ax, share_ax) = figure(
        "From deadline to `expired` event",
        "delay after the deadline (ms)",
        "keys",
        ncols=2,
    )
    longest = max((max(delays) for delays in delays_by_run.values() if delays), default=1.0)
    bins = [longest * i / 40 for i in range(41)]
    _distribution(
        hist_ax,
        share_ax,
        delays_by_run,
        bins=bins,
        share_title="share of keys deleted within x ms",
        share_ylabel="share of keys",
    )
    return fig


def keys_left(
    seconds: list[float], counts: list[int], *, title: str, time_caps: list[int] | None = None
) -> Figure:
    """Keys still in memory (``DBSIZE``) against time since the active cycle was switched on.

    ``time_caps``, if given, is ``expired_time_cap_reached_count`` read with each sample: the
    cycles so far that ran out of their time budget, drawn as a step line on a second axis.
    """
    fig, ax = figure(
        title, "time since the active cycle was switched on (s)", "keys still in memory"
    )
    # Steps, not a slope: the cycles delete in bursts; a dot per sample shows where none was taken.
    ax.step(seconds, counts, where="post", marker=".", label="keys still in memory (DBSIZE)")
    ax.set_ylim(bottom=0)
    if time_caps is not None:
        caps_axis = ax.twinx()
        caps_axis.step(
            seconds, time_caps, where="post", color=COLOURS["red"], label="cycles out of time"
        )
        caps_axis.set_ylabel("cycles that ran out of their time budget")
        caps_axis.set_ylim(bottom=0)
        caps_axis.yaxis.get_major_locator().set_params(integer=True)
        lines = ax.get_lines() + caps_axis.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    return fig


def ttl_countdown(
    names: list[str],
    remaining_s: list[float],
    expired_after_ms: list[float | None],
    *,
    longest_s: float,
    elapsed_s: float,
    events: list[str],
) -> Figure:
    """One frame of the live countdown: a bar per key with the TTL it has left.

    ``expired_after_ms[i]`` is None while key i's ``expired`` event has not arrived,
    else how many ms after its deadline it arrived. Keys whose TTL reached zero but
    whose event has not arrived yet are drawn in orange: logically expired, still in
    memory.
    """
    fig, ax = figure(f"TTL countdown: {elapsed_s:5.1f} s", "seconds left (TTL)", "")
    colours = []
    for left, after in zip(remaining_s, expired_after_ms, strict=True):
        if after is not None:
            colours.append(COLOURS["green"])
        elif left <= 0:
            colours.append(COLOURS["orange"])
        else:
            colours.append(COLOURS["blue"])
    ax.barh(names, [max(left, 0) for left in remaining_s], color=colours)
    ax.set_xlim(0, longest_s * 1.05)
    ax.invert_yaxis()
    for row, (left, after) in enumerate(zip(remaining_s, expired_after_ms, strict=True)):
        if after is not None:
            text = f"expired event, {after:.0f} ms after the deadline"
        elif left <= 0:
            text = "TTL 0: waiting for the server to delete it"
        else:
            text = f"{left:.1f} s"
        ax.text(longest_s * 0.02 + max(left, 0), row, text, va="center")
    ax.set_title("last events: " + (", ".join(events[-3:]) or "none yet"), loc="left")
    return fig


# --- 04 · Rate limiting ------------------------------------------------------------------


def rate_limit_timeline(
    times: list[float], decisions_by_limiter: dict[str, list[bool]], *, bin_seconds: float = 1.0
) -> Figure:
    """Allowed vs rejected requests over time, one panel per limiter, same traffic.

    ``times`` are the request times in seconds; ``decisions_by_limiter`` maps a
    limiter's name to whether each request was allowed. Bars are stacked per
    ``bin_seconds``: allowed (green) below, rejected (red) on top.
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    rows = len(decisions_by_limiter)
    with plt.rc_context(_rc()):
        width, height = plt.rcParams["figure.figsize"]
        fig = Figure(figsize=(width, 1.0 + 2.0 * rows * height / 4.5), layout="constrained")
        axes = fig.subplots(rows, 1, sharex=True, sharey=True, squeeze=False)[:, 0]
        fig.suptitle("The same bursty traffic through each limiter")
        bins = int(max(times) // bin_seconds) + 1
        starts = [i * bin_seconds for i in range(bins)]
        for ax, (name, allowed) in zip(axes, decisions_by_limiter.items(), strict=True):
            passed, refused = [0] * bins, [0] * bins
            for at, ok in zip(times, allowed, strict=True):
                (passed if ok else refused)[int(at // bin_seconds)] += 1
            ax.bar(
                starts,
                passed,
                width=bin_seconds,
                align="edge",
                color=COLOURS["green"],
                label="allowed",
            )
            ax.bar(
                starts,
                refused,
                width=bin_seconds,
                align="edge",
                bottom=passed,
                color=COLOURS["red"],
                label="rejected",
            )
            ax.set_title(
                f"{name}: {sum(allowed)} allowed, {len(allowed) - sum(allowed)} rejected",
                loc="left",
            )
            ax.set_ylabel(f"requests / {bin_seconds:g} s")
        axes[0].legend(loc="upper right")
        axes[-1].set_xlabel("time (s)")
    return fig


# --- 06 · AOF ----------------------------------------------------------------------------


def fsync_policies(throughput: dict[str, float], lost: dict[str, int], *, writes: int) -> Figure:
    """Writes per second (left) and writes lost to a SIGKILL (right), one bar per
    ``appendfsync`` policy. ``writes`` is how many each run sent."""
    fig, (speed_ax, lost_ax) = figure(
        "appendfsync: speed, and what a crash of the server process loses",
        "appendfsync",
        "writes per second",
        ncols=2,
    )
    names = list(throughput)
    colours = [COLOURS["red"], COLOURS["orange"], COLOURS["green"]][: len(names)]
    bars = speed_ax.bar(names, [throughput[name] for name in names], color=colours)
    speed_ax.bar_label(bars, fmt="%.0f")
    speed_ax.set_title(f"{writes} SETs, one round trip each")
    bars = lost_ax.bar(names, [lost[name] for name in names], color=colours)
    lost_ax.bar_label(bars, fmt="%d")
    lost_ax.set_ylim(0, writes)
    lost_ax.set_ylabel("writes lost after kill()")
    lost_ax.set_title("SIGKILL: the OS page cache survives")
    return fig


def aof_files(before: dict[str, int], after: dict[str, int]) -> Figure:
    """Sizes of the AOF files before and after a rewrite (BGREWRITEAOF), in bytes."""
    fig, ax = figure("BGREWRITEAOF: the same data, fewer bytes", "", "bytes")

    def short(name: str) -> str:  # "appendonly.aof.1.incr.aof" -> "1.incr.aof"
        return name.replace("appendonly.aof.", "")

    labels = [
        *(f"before\n{short(name)}" for name in before),
        *(f"after\n{short(name)}" for name in after),
    ]
    sizes = [*before.values(), *after.values()]
    colours = [COLOURS["orange"]] * len(before) + [COLOURS["green"]] * len(after)
    bars = ax.bar(labels, sizes, color=colours)
    ax.bar_label(bars, fmt="%d")
    ax.tick_params(axis="x", labelsize="small")
    return fig


# --- 07 · Replication and failover -------------------------------------------------------


def replication_offsets(
    times: list[float],
    offsets_by_server: dict[str, list[int]],
    *,
    paused: tuple[float, float] | None = None,
    paused_label: str = "paused",
) -> Figure:
    """How far each server has got in the replication stream, over time.

    ``times`` are seconds since the burst of writes began; ``offsets_by_server`` maps a
    server's name to its offset at each of those times (the primary's
    ``master_repl_offset``, a replica's ``slave_repl_offset``). Offsets are drawn in MB
    counted from the smallest first sample, so a replica's line below the primary's is
    how far behind it is. ``paused`` shades a (start, end) interval in seconds.
    """
    fig, ax = figure(
        "Replicas catching up with the primary",
        "time since the burst began (ms)",
        "replication offset (MB since start)",
    )
    start = min(offsets[0] for offsets in offsets_by_server.values())
    milliseconds = [t * 1000 for t in times]
    if paused is not None:
        ax.axvspan(
            paused[0] * 1000,
            paused[1] * 1000,
            color=COLOURS["yellow"],
            alpha=0.35,
            label=paused_label,
        )
    # The primary's line is drawn thick and the replicas' thinner and dashed, so a replica
    # that keeps up stays visible on top of the primary's line.
    widths = [5.0, 2.2, 2.2, 2.2]
    dashes = ["-", "--", ":", "-."]
    for index, (name, offsets) in enumerate(offsets_by_server.items()):
        ax.plot(
            milliseconds,
            [(offset - start) / 1e6 for offset in offsets],
            label=name,
            drawstyle="steps-post",
            linewidth=widths[index % len(widths)],
            linestyle=dashes[index % len(dashes)],
        )
    ax.legend(loc="upper left")
    return fig


# --- 12 · Login flow 2 -------------------------------------------------------------------


def check_latencies(latencies_us_by_mode: dict[str, list[float]], *, title: str) -> Figure:
    """Per-check latency of the same token check done different ways, one series per way.

    ``latencies_us_by_mode`` maps a way ("stateless JWT", "JWT + Redis GET", "PING alone")
    to the time of each check in microseconds. Left: histogram on a log scale of time
    (the tail matters); right: the share of checks done within x µs, with each median.
    """
    fig, (hist_ax, share_ax) = figure(title, "time per check (µs)", "checks", ncols=2)
    everything = [v for values in latencies_us_by_mode.values() for v in values if v > 0]
    low, high = min(everything), max(everything)
    edges = [low * (high / low) ** (i / 60) for i in range(61)]
    _distribution(
        hist_ax,
        share_ax,
        latencies_us_by_mode,
        bins=edges,
        share_title="share of checks done within x µs",
        share_ylabel="share of checks",
        median_unit="µs",
    )
    for ax in (hist_ax, share_ax):
        ax.set_xscale("log")
    share_ax.set_xlabel("time per check (µs)")
    return fig


def ttl_follows_exp(seconds: list[float], ttl_s: list[float], exp_left_s: list[float]) -> Figure:
    """A token's key in Redis counting down: ``PTTL`` against the JWT's ``exp − now``.

    ``seconds`` are the sample times since the token was issued; ``ttl_s`` what Redis's
    ``PTTL`` answered (in seconds; negative once the key is gone); ``exp_left_s`` the
    token's ``exp`` minus the time of the sample.
    """
    fig, ax = figure(
        "The token's key in Redis expires with the token",
        "seconds since the token was issued (iat)",
        "seconds left",
    )
    ax.plot(seconds, exp_left_s, label="JWT: exp − now", linestyle="--", color=COLOURS["orange"])
    alive = [(t, ttl) for t, ttl in zip(seconds, ttl_s, strict=True) if ttl >= 0]
    ax.plot(
        [t for t, _ in alive],
        [ttl for _, ttl in alive],
        label="Redis: PTTL",
        color=COLOURS["blue"],
        marker="o",
        markersize=3,
    )
    gone = [t for t, ttl in zip(seconds, ttl_s, strict=True) if ttl < 0]
    if gone:
        ax.axvline(gone[0], color=COLOURS["red"], linestyle=":", label="key gone (PTTL -2)")
    ax.axhline(0, color=COLOURS["black"], linewidth=0.8)
    ax.legend(loc="upper right")
    return fig
