"""The figures of notebooks 01 (cache-aside) and 02 (TTL and expiry)."""

from jwtlab import plots


def test_cache_queries_draws_the_moving_average_and_the_cumulative_count_per_run():
    runs = {"no cache": [1, 1, 1, 1], "cache-aside (Redis)": [1, 0, 1, 0]}
    fig = plots.cache_queries(runs, window=2)
    rate_ax, total_ax = fig.axes[:2]
    assert [line.get_label() for line in total_ax.get_lines()] == list(runs)
    assert list(total_ax.get_lines()[1].get_ydata()) == [1, 1, 2, 2]
    assert list(rate_ax.get_lines()[1].get_ydata()) == [1.0, 0.5, 0.5, 0.5]


def test_expiry_delays_draws_a_share_that_ends_at_one_for_every_run():
    runs = {"untouched": [5.0, 80.0, 120.0], "touched": [1.0, 2.0]}
    fig = plots.expiry_delays(runs)
    share_ax = fig.axes[1]
    assert [line.get_label() for line in share_ax.get_lines()] == list(runs)
    assert [line.get_ydata()[-1] for line in share_ax.get_lines()] == [1.0, 1.0]


def test_keys_left_plots_dbsize_against_time():
    fig = plots.keys_left([0.0, 0.1, 0.2], [100, 40, 0], title="burst")
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [100, 40, 0]


def test_keys_left_draws_the_cycles_out_of_time_on_a_second_axis():
    fig = plots.keys_left([0.0, 0.1, 0.2], [100, 40, 0], title="burst", time_caps=[0, 1, 1])
    keys_ax, caps_ax = fig.axes
    assert len(keys_ax.get_lines()) == 1
    assert list(caps_ax.get_lines()[0].get_ydata()) == [0, 1, 1]


def test_ttl_countdown_colours_waiting_and_expired_keys():
    fig = plots.ttl_countdown(
        ["a", "b", "c"],
        [1.5, -0.1, -0.3],
        [None, None, 12.0],
        longest_s=2.0,
        elapsed_s=0.5,
        events=["c"],
    )
    (ax,) = fig.axes
    texts = [text.get_text() for text in ax.texts]
    assert texts[0] == "1.5 s"
    assert texts[1].startswith("TTL 0: waiting")
    assert texts[2] == "expired event, 12 ms after the deadline"
    assert ax.get_title(loc="left") == "last events: c"
