"""The figure of notebook 07: replication offsets catching up."""

from jwtlab import plots


def test_replication_offsets_draws_one_line_per_server_and_shades_the_pause():
    times = [0.0, 0.1, 0.2, 0.3]
    offsets = {
        "primary": [1000, 2000, 3000, 3000],
        "replica 1": [1000, 2000, 3000, 3000],
        "replica 2 (paused)": [1000, 1000, 1000, 3000],
    }
    fig = plots.replication_offsets(times, offsets, paused=(0.0, 0.25), paused_label="paused")
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == list(offsets)
    # Offsets are drawn in MB counted from the first sample; times in milliseconds.
    assert list(ax.get_lines()[2].get_ydata()) == [0.0, 0.0, 0.0, 0.002]
    assert list(ax.get_lines()[0].get_xdata()) == [0.0, 100.0, 200.0, 300.0]
    assert "paused" in [patch.get_label() for patch in ax.patches]


def test_replication_offsets_without_a_pause_has_no_shading():
    fig = plots.replication_offsets([0.0, 1.0], {"primary": [5, 10], "replica": [5, 10]})
    assert not fig.axes[0].patches
