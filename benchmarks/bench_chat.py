"""What the live chat's fan-out costs, against a bare Redis PUBLISH → message round trip.

    python benchmarks/bench_chat.py                (--quick for a short run)
    python benchmarks/bench_chat.py --readers 1    (every receiver read by one process)

One Redis server and two app processes (`AppProcess`, what ``jwtlab serve`` runs) share it.
50 WebSocket clients join the room ``general``, half on each process; five more, on
process one, take turns sending messages one at a time (each socket's send rate is
limited, `jwtlab.web.chat.MESSAGES_PER_SECOND`). For each message, the latency of every
receiver is the time from the sender's ``send`` to that receiver's receipt of the frame:
socket → process one → Redis (the XADD + PUBLISH script) → both processes → 50 sockets.
Two figures: **all receivers** (the 50 latencies of every message) and the **first
receiver** (the quickest of the 50, per message: the path itself, without the queue of
sockets behind it).

The receivers are read by ``--readers`` processes (default 5, 10 sockets each, on both
app processes), the senders by this one. A classroom's 50 browsers are 50 processes; one
Python process reading all 50 sockets would time, for the later receivers, its own
reading of the earlier ones (about 40 µs of Python per frame), and on a busy machine a
process that busy is scheduled late. ``time.perf_counter`` is system-wide (the Python
docs' word), so a reader's arrival time and this process's send time are on one clock.
Every socket joins (its history frame read) before the first message, and a round ends
when every receiver and every sender has the message: one round's tail never overlaps
the next.

The peer, measured in the same run on the same Redis: a bare ``PUBLISH`` on one
connection and the message's arrival on a subscribed connection, in the same asyncio
loop, in this process (``redis.asyncio``). Target (issue 14): p50 of the fan-out at
most 3× the bare round trip's p50. Beside it, not a peer: ``PUBLISH → other process``,
the same message arriving in another process (`OneHop`), the kind of hop the fan-out
makes four of in a row. The three are measured in alternating blocks; still, the fan-out
keeps every process of the run busy (Redis, both app processes, the readers) and the bare
round trip two, so when other work shares the cores the ratio grows with the load: the
run prints the load average.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis.asyncio
import websockets

from jwtlab import servers
from jwtlab.web.process import AppProcess

CLIENTS = 50
SENDERS = 5  # senders take turns: each socket may send chat.MESSAGE_BURST at once
MEMBERS = 5  # each opens the room (CLIENTS + SENDERS) / MEMBERS times: a room token per socket
READERS = 5  # processes reading the receivers' sockets
PASSWORD = "correct horse battery"
ROUND_TIMEOUT = 30.0  # s for one message to reach every receiver


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def room_tokens(app: AppProcess, count: int, room: str = "general") -> list[str]:
    tokens = []
    with httpx.Client(base_url=app.url, timeout=30) as http:
        for number in range(MEMBERS):
            name = f"bench{number}"
            http.post("/api/signup", json={"name": name, "password": PASSWORD})
            access = http.post("/api/login", json={"name": name, "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {access['access_token']}"}
            for _ in range(count // MEMBERS):
                opened = http.post(f"/api/rooms/{room}/open", headers=headers).json()
                tokens.append(opened["room_token"])
    return tokens


async def joined(url: str, token: str):
    """A socket in the room, its history frame read: from then on the app process that
    holds it relays every message to it (before, a message may land in the history)."""
    socket = await websockets.connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        max_queue=None,
        compression=None,  # chat frames are small; see jwtlab.web.serve
    )
    async for raw in socket:
        if json.loads(raw).get("type") == "history":
            return socket
    closed = f"{socket.close_code} {socket.close_reason}"
    raise RuntimeError(f"{url} closed before sending the history: {closed}")


# -- a reader process ---------------------------------------------------------------------------


def read_receivers(sockets: list[tuple[str, str]], parent) -> None:
    """In a process of its own: join ``sockets`` (url, token), tell the parent each message
    number that all of them received, and at the end send it every ``(number, arrival)``."""
    asyncio.run(_read_receivers(sockets, parent))


async def _read_receivers(assignments: list[tuple[str, str]], parent) -> None:
    loop = asyncio.get_running_loop()
    sockets = [await joined(url, token) for url, token in assignments]
    arrivals: list[tuple[int, float]] = []
    waiting_for: dict[int, int] = {}

    async def read(socket) -> None:
        async for raw in socket:
            arrived = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") != "message":
                continue
            number = int(frame["text"].split()[1])
            arrivals.append((number, arrived))
            waiting_for[number] = waiting_for.get(number, len(sockets)) - 1
            if waiting_for[number] == 0:
                del waiting_for[number]
                parent.send(number)

    readers = [asyncio.create_task(read(socket)) for socket in sockets]
    stop = loop.create_future()

    def parent_spoke() -> None:  # "stop", or end of file: the parent is gone
        with contextlib.suppress(EOFError):
            parent.recv()
        if not stop.done():
            stop.set_result(None)

    loop.add_reader(parent.fileno(), parent_spoke)
    parent.send("ready")
    await stop
    loop.remove_reader(parent.fileno())
    for socket in sockets:
        await socket.close()
    for reader in readers:
        reader.cancel()
    parent.send(arrivals)


def listen_elsewhere(port: int, parent) -> None:
    """In a process of its own: subscribe to ``bench:hop`` and send the parent the arrival
    time of each number published there (until ``stop``)."""
    asyncio.run(_listen_elsewhere(port, parent))


async def _listen_elsewhere(port: int, parent) -> None:
    client = redis.asyncio.Redis(port=port)
    listener = client.pubsub()
    await listener.subscribe("bench:hop")
    await listener.get_message(timeout=5)  # the subscribe confirmation
    parent.send("ready")
    while True:
        message = await listener.get_message(timeout=None)
        arrived = time.perf_counter()
        if message is None or message["type"] != "message":
            continue
        if message["data"] == b"stop":
            break
        parent.send((int(message["data"]), arrived))
    await listener.aclose()
    await client.aclose()


# -- this process: the senders and the clock ------------------------------------------------


class FanOut:
    """The senders here, the receivers in reader processes; ``one_round()`` sends once and
    waits until every reader has reported the message and every sender has its copy."""

    def __init__(self, readers: int, room: str = "general") -> None:
        self.reader_count = readers
        self.room = room
        self.sent_at: dict[int, float] = {}
        self.recorded: set[int] = set()
        self.reports: dict[int, int] = {}
        self.done: dict[int, asyncio.Event] = {}
        self.senders: list = []
        self.drains: list[asyncio.Task] = []
        self.processes: list = []
        self.pipes: list = []
        self.arrivals: list[tuple[int, float]] = []
        self.round = 0

    async def open(self, apps: tuple[AppProcess, AppProcess], tokens: list[str]) -> None:
        url = "{}/rooms/" + self.room + "/ws"
        for token in tokens[:SENDERS]:  # on process one
            socket = await joined(url.format(apps[0].ws_url), token)
            self.senders.append(socket)
            self.drains.append(asyncio.create_task(self._drain(socket)))
        receivers = [
            (url.format(apps[index % 2].ws_url), token)
            for index, token in enumerate(tokens[SENDERS:])
        ]
        context = multiprocessing.get_context("spawn")  # no fork of a running event loop
        loop = asyncio.get_running_loop()
        for number in range(self.reader_count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=read_receivers,
                args=(receivers[number :: self.reader_count], theirs),
                daemon=True,
            )
            process.start()
            theirs.close()
            self.processes.append(process)
            self.pipes.append(ours)
        for pipe in self.pipes:
            ready = await loop.run_in_executor(None, _receive, pipe, 120.0)
            if ready != "ready":
                raise RuntimeError(f"a reader process did not join the room: {ready!r}")
            loop.add_reader(pipe.fileno(), self._reported, pipe)

    def _reported(self, pipe) -> None:
        try:
            number = pipe.recv()
        except EOFError:
            asyncio.get_running_loop().remove_reader(pipe.fileno())
            return
        self._one_more(number)

    async def _drain(self, socket) -> None:
        """A sender's own copy of each message: not timed, but awaited, so that one round's
        tail (process one writing the copies) does not overlap the next round."""
        async for raw in socket:
            frame = json.loads(raw)
            if frame.get("type") == "message":
                self._one_more(int(frame["text"].split()[1]))

    def _one_more(self, number: int) -> None:
        self.reports[number] = self.reports.get(number, 0) + 1
        if self.reports[number] == self.reader_count + SENDERS:
            self.done[number].set()

    async def one_round(self, record: bool = True) -> None:
        number = self.round = self.round + 1
        self.done[number] = asyncio.Event()
        sender = self.senders[number % SENDERS]
        self.sent_at[number] = time.perf_counter()
        await sender.send(json.dumps({"text": f"bench {number}"}))
        await asyncio.wait_for(self.done[number].wait(), ROUND_TIMEOUT)
        if record:
            self.recorded.add(number)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for pipe in self.pipes:
            loop.remove_reader(pipe.fileno())
            pipe.send("stop")
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            answer = None
            while not isinstance(answer, list):  # reports of a round that timed out, then the list
                answer = await loop.run_in_executor(None, _receive, pipe, 60.0)
            self.arrivals.extend(answer)
            process.join(10)
            pipe.close()
        for socket in self.senders:
            await socket.close()
        for drain in self.drains:
            drain.cancel()

    def latencies(self) -> tuple[list[float], list[float]]:
        """(every receiver's latency, the first receiver's latency per message)."""
        every: list[float] = []
        first: dict[int, float] = {}
        for number, arrived in self.arrivals:
            if number in self.recorded:
                latency = arrived - self.sent_at[number]
                every.append(latency)
                first[number] = min(latency, first.get(number, latency))
        return every, list(first.values())


def _receive(pipe, timeout: float):
    if not pipe.poll(timeout):
        raise RuntimeError(f"a reader process said nothing within {timeout} s")
    return pipe.recv()


async def bare_rounds(port: int, rounds: int, results: list[float]) -> None:
    publisher = redis.asyncio.Redis(port=port)
    listener = publisher.pubsub()
    await listener.subscribe("bench:bare")
    await listener.get_message(timeout=5)  # the subscribe confirmation
    for number in range(rounds):
        began = time.perf_counter()
        await publisher.publish("bench:bare", number)
        while await listener.get_message(timeout=5) is None:
            pass
        results.append(time.perf_counter() - began)
    await listener.aclose()
    await publisher.aclose()


class OneHop:
    """``PUBLISH`` here, the message's arrival in another process (`listen_elsewhere`): one
    hop between processes, the kind the fan-out makes four of in a row (client → app one,
    app one → Redis → app two, app two → client). Not the peer: it shows what a hop costs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrivals: asyncio.Queue = asyncio.Queue()

    async def open(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, theirs = context.Pipe()
        self.process = context.Process(
            target=listen_elsewhere, args=(self.port, theirs), daemon=True
        )
        self.process.start()
        theirs.close()
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, _receive, self.pipe, 60.0)
        if ready != "ready":
            raise RuntimeError(f"the listening process did not subscribe: {ready!r}")
        loop.add_reader(self.pipe.fileno(), lambda: self.arrivals.put_nowait(self.pipe.recv()))
        self.publisher = redis.asyncio.Redis(port=self.port)

    async def rounds(self, count: int, results: list[float]) -> None:
        for number in range(count):
            began = time.perf_counter()
            await self.publisher.publish("bench:hop", number)
            arrived_number, arrived = await asyncio.wait_for(self.arrivals.get(), ROUND_TIMEOUT)
            assert arrived_number == number, (arrived_number, number)
            results.append(arrived - began)

    async def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.pipe.fileno())
        await self.publisher.publish("bench:hop", "stop")
        await self.publisher.aclose()
        self.process.join(10)
        self.pipe.close()


async def measure(apps, tokens, port: int, blocks: int, per_block: int, readers: int):
    fan_out, one_hop = FanOut(readers), OneHop(port)
    bare: list[float] = []
    hop: list[float] = []
    try:
        await fan_out.open(apps, tokens)
        await one_hop.open()
        for _ in range(20):  # warm up: connection pools, the stream's first node
            await fan_out.one_round(record=False)
        await bare_rounds(port, 20, [])
        await one_hop.rounds(20, [])
        for _ in range(blocks):
            for _ in range(per_block):
                await fan_out.one_round()
            await bare_rounds(port, per_block, bare)
            await one_hop.rounds(per_block, hop)
    finally:
        await fan_out.close()
        await one_hop.close()
    every, first = fan_out.latencies()
    return every, first, bare, hop


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    readers = int(argv[argv.index("--readers") + 1]) if "--readers" in argv else READERS
    if not 1 <= readers <= CLIENTS:
        raise SystemExit(f"--readers takes 1 to {CLIENTS} processes, not {readers}")
    blocks, per_block = (5, 20) if quick else (10, 100)
    folder = Path(tempfile.mkdtemp(prefix="jwtlab_bench_chat_"))
    secret = secrets.token_hex(32)
    load_before = os.getloadavg()
    with servers.start(save="", appendonly="no") as server:
        shared = dict(redis_url=server.url, db_path=folder / "members.sqlite3", secret=secret)
        with AppProcess(**shared) as first, AppProcess(**shared) as second:
            tokens = room_tokens(first, CLIENTS + SENDERS)
            latencies, first_receiver, bare, hop = asyncio.run(
                measure((first, second), tokens, server.port, blocks, per_block, readers)
            )
        engine = server.engine
    messages = blocks * per_block
    print(
        f"\nchat fan-out: {SENDERS} senders taking turns, {CLIENTS} receivers on 2 app "
        f"processes read by {readers} client process{'es' if readers > 1 else ''}, "
        f"{messages} messages ({engine})"
    )
    rows = {
        f"fan-out, all {CLIENTS} receivers": latencies,
        "fan-out, first receiver": first_receiver,
        "bare PUBLISH → message": bare,
        "PUBLISH → other process": hop,
    }
    bare_p50, bare_p99 = percentile(bare, 0.5), percentile(bare, 0.99)
    print(f"  {'':<30}{'p50 ms':>9}{'p99 ms':>9}{'p50 ×':>8}{'p99 ×':>8}")
    for label, values in rows.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(
            f"  {label:<30}{p50 * 1e3:>9.3f}{p99 * 1e3:>9.3f}"
            f"{p50 / bare_p50:>8.2f}{p99 / bare_p99:>8.2f}"
        )
    for label, values in list(rows.items())[:2]:
        ratio = percentile(values, 0.5) / bare_p50
        verdict = "meets" if ratio <= 3 else "misses"
        print(f"  {label}: p50 / bare p50 = {ratio:.2f} ({verdict} the target of at most 3)")
    # Each hop of the fan-out is a wake-up of another process (client, app one, Redis, app
    # two, client) and some Python work per socket; the bare round trip has two wake-ups.
    # On a busy machine each of our processes waits for a core: say what the load was.
    cores = os.cpu_count() or 1
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    before = ", ".join(f"{value:.1f}" for value in load_before)
    print(f"  load average: {before} before the run, {load} after, on {cores} cores")


if __name__ == "__main__":
    main(sys.argv[1:])
