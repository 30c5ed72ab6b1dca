"""The jwtlab command, run as a user would run it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

import pytest
import redis
from helpers import wait_until

from jwtlab import cli, servers

JWTLAB = [sys.executable, "-m", "jwtlab.cli"]


@pytest.mark.server
def test_doctor_starts_a_real_server_and_says_all_good(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"engine\s+(redis|valkey) \d+\.\d+\.\d+", out)
    assert "SET/GET/TTL ok" in out


def test_doctor_fails_clearly_when_the_engine_choice_is_wrong(capsys, monkeypatch):
    monkeypatch.setenv("JWTLAB_REDIS_SERVER", "/nonexistent/redis-server")
    assert cli.main(["doctor"]) == 1
    assert "neither a file nor a command" in capsys.readouterr().err


def test_engines_marks_the_chosen_one(capsys):
    assert cli.main(["engines"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if re.match(r"\* (redis|valkey) ", line)]
    assert len(lines) == 1 and str(servers.find_engine()) in lines[0]


def test_a_bad_directive_is_reported_without_a_traceback():
    result = subprocess.run([*JWTLAB, "server", "appendonly"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "name=value" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "advice"),
    [
        (["server", "timeout=300"], "write TIMEOUT=300 for the directive"),
        (["server", "port=7000"], "write --port N"),
        (["replication", "replicas=2"], "write --replicas N"),
        (["cluster", "primaries=5"], "write --primaries N"),
    ],
)
def test_a_directive_named_like_an_option_of_the_command_is_refused_before_any_start(argv, advice):
    # timeout=300 would otherwise be start()'s seconds-to-wait, as a string.
    with pytest.raises(SystemExit, match=re.escape(advice)):
        cli.main(argv)


def test_the_directive_in_capitals_is_the_directive():
    assert servers._server._directive_lines({"TIMEOUT": "300"}) == ["timeout 300"]


@pytest.mark.server
def test_server_runs_in_the_foreground_and_stops_with_the_command():
    proc = subprocess.Popen(
        [*JWTLAB, "server", "appendonly=yes"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"redis://127\.0\.0\.1:(\d+) \(pid (\d+)", line)
        assert match, line
        port, pid = int(match.group(1)), int(match.group(2))
        client = redis.Redis(port=port, decode_responses=True)
        assert client.config_get("appendonly")["appendonly"] == "yes"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        wait_until(lambda: not servers._pid_alive(pid), what="the server to stop")
    finally:
        if proc.poll() is None:
            proc.kill()


# The SIGTERM lands while servers.start() runs, before the "listening" line: the moment a
# supervisor (or the test above, on a busy machine) may stop the command. Deterministic: the
# signal is sent from inside start(), not after a sleep.
SIGTERM_DURING_START = """
import os, signal, sys
from jwtlab import cli, servers
real_start = servers.start
def start_then_sigterm(**kwargs):
    srv = real_start(**kwargs)
    print(f"server pid {srv.pid}", flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    return srv
servers.start = start_then_sigterm
sys.exit(cli.main(["server"]))
"""


def test_a_sigterm_while_the_server_starts_still_stops_it_cleanly():
    result = subprocess.run(
        [sys.executable, "-c", SIGTERM_DURING_START], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, (result.returncode, result.stderr)
    pid = int(re.search(r"server pid (\d+)", result.stdout).group(1))
    wait_until(lambda: not servers._pid_alive(pid), what="the server to stop")
    assert "listening at" in result.stdout


def test_inspect_explains_a_token_and_flags_milliseconds(capsys):
    import jwtlab

    token = jwtlab.encode({"sub": "student", "exp": 1480849147370}, "s" * 32)
    assert cli.main(["inspect", token]) == 0
    out = capsys.readouterr().out
    assert "sub = student" in out and "[registered]" in out
    assert "looks like milliseconds" in out and "not verified" in out


def test_inspect_refuses_a_malformed_token_with_the_reason(capsys):
    assert cli.main(["inspect", "abc.def"]) == 2
    assert "3 segments" in capsys.readouterr().err


# -- jwtlab serve --redis-url: what a wrong URL says -------------------------------------------


@pytest.mark.parametrize(
    ("url", "flags", "says"),
    [
        ("redis+cluster://127.0.0.1:7000/3", [], "database 0 only"),
        ("unix:///tmp/redis.sock", ["--cluster"], "over TCP, not a Unix socket"),
        ("redis+cluster://127.0.0.1:70a0", [], "the port must be a number"),
        ("http://127.0.0.1:6379", [], "redis+cluster://host:port"),
        ("127.0.0.1:7000", [], "is not a Redis URL"),
    ],
    ids=["database", "unix-socket", "port", "scheme", "no-scheme"],
)
def test_serve_explains_a_redis_url_that_cannot_work(capsys, url, flags, says):
    assert cli.main(["serve", "--redis-url", url, *flags]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jwtlab: ") and says in err, err


def test_serve_says_when_no_node_of_the_cluster_answers(capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert cli.main(["serve", "--redis-url", f"redis+cluster://127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert f"no node of a Redis Cluster answered at 127.0.0.1:{port}" in err
    assert "jwtlab cluster" in err, "it says how to start one"


def test_serve_hides_the_password_of_a_url_it_refuses(capsys):
    assert cli.main(["serve", "--redis-url", "redis+cluster://ann:s3cret@127.0.0.1:7000/2"]) == 1
    err = capsys.readouterr().err
    assert "s3cret" not in err and "ann:***@" in err


def test_serve_refuses_a_single_server_behind_a_cluster_url(redis_server, capsys):
    url = f"redis+cluster://127.0.0.1:{redis_server.port}"
    assert cli.main(["serve", "--redis-url", url]) == 1
    err = capsys.readouterr().err
    assert "is a single Redis server" in err and f"redis://127.0.0.1:{redis_server.port}" in err


def test_serve_refuses_a_cluster_node_behind_a_plain_url(redis_cluster, capsys):
    assert cli.main(["serve", "--redis-url", redis_cluster.url]) == 1
    err = capsys.readouterr().err
    assert "is a node of a Redis Cluster" in err and "redis+cluster://127.0.0.1:" in err
