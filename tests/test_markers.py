"""The `server` marker is kept honest: `make unit` (``-m "not server"``) stays free of servers."""

from __future__ import annotations

import pytest

from jwtlab import servers


def test_an_unmarked_test_that_starts_a_server_fails_and_says_how_to_mark_it():
    with pytest.raises(RuntimeError, match=r"not marked `server`: add @pytest.mark.server"):
        servers.start(save="")


def test_a_test_using_a_server_fixture_is_marked_server(request, engine):
    assert request.node.get_closest_marker("server") is not None


def test_a_test_using_no_server_fixture_is_not_marked(request):
    assert request.node.get_closest_marker("server") is None


def test_a_test_using_the_cluster_factory_is_marked_server(request, clusters):
    # `clusters` starts nothing until called; a test that asks for it is still a server test
    assert request.node.get_closest_marker("server") is not None
