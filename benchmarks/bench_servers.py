"""How long the kit takes to give you a server, per engine.

    python benchmarks/bench_servers.py

Measures, for every engine found:
- ``servers.start()`` until the first PING is answered (target: under 100 ms);
- ``servers.replication(replicas=2)`` until ``wait_for_sync()`` returns (target: 1.5 s);
- ``servers.cluster(primaries=3, replicas_per_primary=1)`` until every node says
  ``cluster_state:ok`` and agrees on the slot map (target: 3 s; a Redis primary waits
  2 s after start before it says ok, CLUSTER_WRITABLE_DELAY in cluster.c);
and, as the peer, one bare PING round trip on an open connection, so the start-up
cost reads as a number of round trips.
"""

from __future__ import annotations

import statistics
import time

from jwtlab import servers

STARTS = 15
REPLICATIONS = 3
CLUSTERS = 3


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_engine(engine: servers.Engine) -> dict[str, float]:
    starts = []
    for _ in range(STARTS):
        began = time.perf_counter()
        srv = servers.start(engine=engine, save="")
        starts.append(time.perf_counter() - began)
        srv.close()

    with servers.start(engine=engine, save="") as srv:
        client = srv.client()
        client.ping()
        pings = []
        for _ in range(2000):
            began = time.perf_counter()
            client.ping()
            pings.append(time.perf_counter() - began)

    syncs = []
    for _ in range(REPLICATIONS):
        began = time.perf_counter()
        with servers.replication(replicas=2, engine=engine, save="") as rep:
            rep.wait_for_sync()
            syncs.append(time.perf_counter() - began)
    clusters = []
    for _ in range(CLUSTERS):
        began = time.perf_counter()
        with servers.cluster(primaries=3, replicas_per_primary=1, engine=engine, save=""):
            clusters.append(time.perf_counter() - began)
    return {
        "start_ms": _median_ms(starts),
        "ping_ms": _median_ms(pings),
        "sync_ms": _median_ms(syncs),
        "cluster_ms": _median_ms(clusters),
    }


def main() -> None:
    print(
        f"{'engine':<16}{'start→PING':>12}{'target':>8}{'= PINGs':>10}"
        f"{'replication(2)':>16}{'target':>8}{'cluster(3+3)':>14}{'target':>8}"
    )
    for engine in servers.engines():
        r = bench_engine(engine)
        print(
            f"{engine!s:<16}{r['start_ms']:>9.1f} ms{'100':>8}{r['start_ms'] / r['ping_ms']:>10.0f}"
            f"{r['sync_ms']:>13.0f} ms{'1500':>8}{r['cluster_ms']:>11.0f} ms{'3000':>8}"
        )
    print(
        f"(medians of {STARTS} starts, {REPLICATIONS} replication sets, {CLUSTERS} clusters, "
        "2000 PINGs)"
    )


if __name__ == "__main__":
    main()
