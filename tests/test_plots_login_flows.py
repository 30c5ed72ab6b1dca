"""The figures of notebook 12: token-check latencies, and a token's key counting down."""

from jwtlab import plots


def test_check_latencies_draws_each_way_in_both_panels_with_its_median():
    timings = {
        "stateless JWT": [30.0, 31.0, 29.0, 35.0, 300.0],
        "JWT + Redis GET": [95.0, 97.0, 99.0, 120.0, 900.0],
        "PING alone": [60.0, 59.0, 61.0, 70.0, 500.0],
    }
    fig = plots.check_latencies(timings, title="one check")
    hist_ax, share_ax = fig.axes
    assert hist_ax.get_xscale() == share_ax.get_xscale() == "log"
    labels = [line.get_label() for line in share_ax.get_lines()]
    assert labels == [
        "stateless JWT: median 31 µs",
        "JWT + Redis GET: median 99 µs",
        "PING alone: median 61 µs",
    ]
    # the share of checks climbs to 1 for every series
    assert all(line.get_ydata()[-1] == 1.0 for line in share_ax.get_lines())
    assert len(hist_ax.patches) == 3
    assert fig._suptitle.get_text() == "one check"


def test_ttl_follows_exp_plots_the_key_while_it_lives_and_marks_when_it_is_gone():
    seconds = [0.0, 0.5, 1.0, 1.5, 2.0]
    ttl = [2.0, 1.5, 1.0, 0.5, -1.0]  # the key is gone at the last sample
    exp_left = [2.0, 1.5, 1.0, 0.5, 0.0]
    fig = plots.ttl_follows_exp(seconds, ttl, exp_left)
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["Redis: PTTL"].get_xdata()) == [0.0, 0.5, 1.0, 1.5]
    assert list(lines["JWT: exp − now"].get_ydata()) == exp_left
    assert list(lines["key gone (PTTL -2)"].get_xdata()) == [2.0, 2.0]


def test_ttl_follows_exp_without_the_key_gone_has_no_marker():
    fig = plots.ttl_follows_exp([0.0, 1.0], [2.0, 1.0], [2.0, 1.0])
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "key gone (PTTL -2)" not in labels
