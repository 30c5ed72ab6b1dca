"""No orphans, ever: a server dies with the process that started it.

Each test runs a real Python process that starts real servers, ends that process
in one of the ways a student's will end (clean exit, exception, SIGKILL, a Jupyter
kernel restart), and then checks the server processes are gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import wait_until

from jwtlab import servers

pytestmark = pytest.mark.server  # every test here starts servers in a child process

GUARDS = ["pdeathsig", "watchdog"] if sys.platform.startswith("linux") else ["watchdog"]


def _child(body: str, guard: str) -> subprocess.Popen:
    """A Python process that runs ``body``; it prints one JSON line with its servers."""
    script = textwrap.dedent(
        """
        import json, os, sys, threading, time
        from jwtlab import servers

        def report(*started):
            print(json.dumps({"pids": [s.pid for s in started],
                              "dirs": [str(s.dir) for s in started]}), flush=True)
        """
    ) + textwrap.dedent(body)
    env = dict(os.environ, JWTLAB_ORPHAN_GUARD=guard)
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _started(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    assert line, f"child printed nothing; stderr:\n{proc.stderr.read()}"
    started = json.loads(line)
    assert started["pids"] and all(servers._pid_alive(pid) for pid in started["pids"])
    return started


def _all_gone(pids: list[int]) -> bool:
    return not any(servers._pid_alive(pid) for pid in pids)


@pytest.mark.parametrize("guard", GUARDS)
def test_servers_die_and_dirs_go_on_a_clean_exit(guard):
    proc = _child(
        """
        srv = servers.start()
        rep = servers.replication(replicas=1)
        report(srv, rep.primary, rep.replicas[0])
        sys.stdin.readline()                    # wait until the test has seen them alive
        """,
        guard,
    )
    started = _started(proc)
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    wait_until(lambda: _all_gone(started["pids"]), what="servers to exit")
    assert not any(Path(d).exists() for d in started["dirs"])


@pytest.mark.parametrize("guard", GUARDS)
def test_servers_die_when_the_program_raises(guard):
    proc = _child(
        """
        srv = servers.start()
        report(srv)
        sys.stdin.readline()
        raise RuntimeError("a student's bug")
        """,
        guard,
    )
    started = _started(proc)
    proc.stdin.close()
    assert proc.wait(timeout=30) == 1
    assert "a student's bug" in proc.stderr.read()
    wait_until(lambda: _all_gone(started["pids"]), what="servers to exit")


@pytest.mark.parametrize("guard", GUARDS)
def test_servers_die_when_the_parent_is_killed_with_sigkill(guard):
    proc = _child(
        """
        srv = servers.start(appendonly="yes")
        rep = servers.replication(replicas=1)
        report(srv, rep.primary, rep.replicas[0])
        time.sleep(600)
        """,
        guard,
    )
    started = _started(proc)
    proc.send_signal(signal.SIGKILL)  # no atexit, no finally: only the guard can act
    proc.wait(timeout=10)
    wait_until(lambda: _all_gone(started["pids"]), what="servers to die with their parent")
    # A killed process cannot remove its temporary directories; the next start sweeps
    # those whose owner is dead.
    assert all(Path(d).exists() for d in started["dirs"])
    servers._sweep_stale_dirs()
    assert not any(Path(d).exists() for d in started["dirs"])


@pytest.mark.parametrize("guard", GUARDS)
def test_a_server_started_from_a_short_lived_thread_outlives_the_thread(guard):
    # The parent-death signal fires when the *thread* that forked the child exits.
    # The kit forks from one long-lived thread, so this server must keep running
    # after the thread that asked for it is gone, and still die with the process.
    proc = _child(
        """
        box = []
        worker = threading.Thread(target=lambda: box.append(servers.start()))
        worker.start(); worker.join()
        time.sleep(0.3)                         # give a wrongly armed signal time to fire
        srv = box[0]
        assert srv.running and srv.client().ping(), "server died with its thread"
        report(srv)
        time.sleep(600)
        """,
        guard,
    )
    started = _started(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    wait_until(lambda: _all_gone(started["pids"]), what="server to die with the process")
    servers._sweep_stale_dirs()
    assert not any(Path(d).exists() for d in started["dirs"])


def test_servers_die_on_a_jupyter_kernel_restart():
    jupyter_client = pytest.importorskip("jupyter_client")
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel()
    try:
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        outputs: list[str] = []

        def collect(message):
            if message["msg_type"] == "stream":
                outputs.append(message["content"]["text"])

        reply = client.execute_interactive(
            "from jwtlab import servers\n"
            "srv = servers.start()\n"
            "rep = servers.replication(replicas=1)\n"
            "print(srv.pid, rep.primary.pid, rep.replicas[0].pid)\n",
            timeout=60,
            output_hook=collect,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        pids = [int(p) for p in "".join(outputs).split()]
        assert len(pids) == 3 and all(servers._pid_alive(p) for p in pids)
        manager.restart_kernel(now=True)
        wait_until(lambda: _all_gone(pids), what="servers to die with the restarted kernel")
        servers._sweep_stale_dirs()  # the old kernel's temporary directories
        client.stop_channels()
    finally:
        manager.shutdown_kernel(now=True)


def test_a_stopped_server_leaves_no_watchdog_behind(monkeypatch):
    monkeypatch.setenv("JWTLAB_ORPHAN_GUARD", "watchdog")
    srv = servers.start()
    watchdog_pid = srv._watchdog.pid
    assert servers._pid_alive(watchdog_pid)
    srv.close()
    assert not servers._pid_alive(watchdog_pid)
