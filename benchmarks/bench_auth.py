"""What flow 2's check costs: verify the JWT, then one Redis lookup.

    python benchmarks/bench_auth.py            (--quick for a short run)

1. **The check against a PING.** On one connection to a real server (`servers.start`),
   time a bare ``PING`` round trip and `AuthService.check_flow2` (HS256 verification
   with `jwtlab.decode`, then one ``GET`` of the token's key). The ratio check / PING is
   the price of the check in round trips. Target (issue 4): at most 1.25.
   The parts are timed too: the JWT verification alone and the ``GET`` alone.
2. **Requests per second through the HTTP app**, ``GET /api/me`` with a Bearer token,
   with the Redis check (the notes' flow) and without it (``check_redis=False``: the
   stateless JWT check, which cannot see a logout). The server is uvicorn in a thread
   of this process and the client one keep-alive httpx connection, so the figure is a
   latency-bound single-client rate, for comparing the two modes, not a capacity.

3. **The login lock-out**: a wrong password costs one script (check and count both
   sliding-window logs at once); a right one a second round trip to take the attempt
   back. Ratios against a PING on the same client.

The check overlaps the two: it sends the ``GET`` for the token's ``jti`` and verifies the
signature while the request travels (`TokenStore.lookup_during`); "verify, then GET"
shows the strictly sequential cost for comparison.

Figures are the best of interleaved runs, so a busy machine slows both sides alike; the
HTTP rates are medians.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import httpx

import jwtlab
from jwtlab import auth, servers, web
from jwtlab._redis_compat import checkout

PASSWORD = "correct horse battery"


def per_call(function: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        function()
    return (time.perf_counter() - start) / number


def interleaved(functions: dict[str, Callable[[], object]], number: int, repeat: int):
    """Best (minimum) seconds per call of each function over interleaved runs: the
    minimum is the run least disturbed by the rest of the machine (as `timeit` advises)."""
    runs: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            runs[name].append(per_call(function, number))
    return {name: min(samples) for name, samples in runs.items()}


def bench_check(quick: bool) -> dict[str, float]:
    number, repeat = (500, 5) if quick else (3000, 9)
    with servers.start(save="", appendonly="no") as server:
        client = server.client()
        service = auth.AuthService.create(
            client, ":memory:", password_hasher=auth.fast_password_hasher()
        )
        service.sign_up("alice", PASSWORD)
        token = service.log_in("alice", PASSWORD).access_token
        claims = service.check_flow2(token).claims
        sub, jti = claims["sub"], claims["jti"]
        key = service.tokens.key_of(claims)
        assert service.check_flow2(token).allowed

        def verify_only():
            return jwtlab.decode(
                token,
                service.secret,
                algorithms=["HS256"],
                audience="jwtlab:api",
                issuer=service.issuer,
                require=("exp", "iat", "jti", "sub", "aud"),
            )

        pool = client.connection_pool

        def raw_ping():
            # The barest round trip: the same pooled connection the check uses, without
            # redis-py's command layer (the check's own GET is sent this way).
            connection = checkout(pool)  # redis-py 5.2 and 8.x ask for it differently
            try:
                connection.send_command("PING")
                connection.read_response()
            finally:
                pool.release(connection)

        for _ in range(200):  # warm up the connection and the code paths
            client.ping()
            raw_ping()
            service.check_flow2(token)
        times = interleaved(
            {
                "PING": client.ping,
                "PING, raw": raw_ping,
                "flow 2 check": lambda: service.check_flow2(token),
                "JWT verify only": verify_only,
                "GET only": lambda: client.get(key),
                "verify, then GET": lambda: (verify_only(), service.tokens.lookup(token, sub, jti)),
            },
            number,
            repeat,
        )
        engine = server.engine
    print(f"\nflow 2's check vs a bare PING on the same connection ({engine})")
    # The baseline is the faster of the two PINGs, so that no client overhead flatters
    # the check.
    baseline = min(times["PING"], times["PING, raw"])
    print(f"  {'':<18}{'µs/call':>10}{'× PING':>9}")
    for name, seconds in times.items():
        print(f"  {name:<18}{seconds * 1e6:>10.1f}{seconds / baseline:>9.2f}")
    ratio = times["flow 2 check"] / baseline
    verdict = "meets" if ratio <= 1.25 else "misses"
    print(f"  ratio check / PING = {ratio:.2f} ({verdict} the target of at most 1.25)")
    return {**times, "ratio": ratio}


def bench_http(quick: bool) -> dict[str, float]:
    number, repeat = (300, 3) if quick else (2000, 5)
    rates: dict[str, list[float]] = {"with Redis check": [], "without (stateless JWT)": []}
    with servers.start(save="", appendonly="no") as server:
        lives, tokens = {}, {}
        for label, check_redis in (("with Redis check", True), ("without (stateless JWT)", False)):
            app = web.create_app(
                redis_client=server.client(),
                password_hasher=auth.fast_password_hasher(),
                check_redis=check_redis,
                namespace=f"bench{int(check_redis)}",
            )
            service = app.state.flows.service
            service.sign_up("alice", PASSWORD)
            tokens[label] = service.log_in("alice", PASSWORD).access_token
            lives[label] = web.run_in_thread(app)
        try:
            clients = {
                label: httpx.Client(
                    base_url=lives[label].url,
                    headers={"Authorization": f"Bearer {tokens[label]}"},
                )
                for label in rates
            }
            for label, client in clients.items():
                for _ in range(100):
                    assert client.get("/api/me").status_code == 200, label
            for _ in range(repeat):
                for label, client in clients.items():
                    seconds = per_call(lambda client=client: client.get("/api/me"), number)
                    rates[label].append(1 / seconds)
            for client in clients.values():
                client.close()
        finally:
            for live in lives.values():
                live.stop()
    medians = {label: statistics.median(values) for label, values in rates.items()}
    print("\nGET /api/me through the HTTP app (uvicorn in a thread, one keep-alive client)")
    for label, rate in medians.items():
        print(f"  {label:<26}{rate:>8.0f} requests/s")
    share = medians["with Redis check"] / medians["without (stateless JWT)"]
    print(f"  with / without = {share:.2f}")
    return medians


def bench_lockout(quick: bool) -> dict[str, float]:
    """3. The login lock-out's check-and-count (one script over two sorted sets) and the
    take-back after a right password, against a bare PING on the same client."""
    number, repeat = (300, 5) if quick else (2000, 9)
    with servers.start(save="", appendonly="no") as server:
        client = server.client()
        lockout = auth.LoginLockout(
            client, per_name=auth.Limit(10**9, 60), per_client=auth.Limit(10**9, 60)
        )

        def right_password_login() -> None:
            decision = lockout.attempt(name_key="alice", client="10.0.0.1")
            lockout.succeeded(decision, name_key="alice", client="10.0.0.1")

        times = interleaved(
            {
                "PING": client.ping,
                "attempt (wrong password)": lambda: lockout.attempt(
                    name_key="bob", client="10.0.0.2"
                ),
                "attempt + succeeded": right_password_login,
            },
            number,
            repeat,
        )
    print("\nthe login lock-out per login, against a PING on the same client")
    for name, seconds in times.items():
        print(f"  {name:<26}{seconds * 1e6:>8.1f} µs{seconds / times['PING']:>8.2f} × PING")
    return times


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    bench_check(quick)
    bench_http(quick)
    bench_lockout(quick)


if __name__ == "__main__":
    main(sys.argv[1:])
