"""The live chat: a WebSocket per room, fanned out through Redis, gated by room tokens.

The notes' option B issues a token "when the user opens a chat room" (채팅방을 개설 한 후에
토큰을 생성). Here that token opens a socket at ``/rooms/{room}/ws``:

* **Handshake** — the room token from the room's ``HttpOnly`` cookie (the browser) or
  ``Authorization: Bearer`` (any other client; RFC 6750 §2.1), checked by the same flow-2
  check as every API call (`AuthService.check_flow2`). Under option A the access token
  opens every room. A refusal is a WebSocket close frame (RFC 6455 §7.4: codes
  4000–4999 are for applications) with a reason, after an ``{"type": "closed"}`` frame
  that carries the whole explanation (a close reason holds at most 123 bytes):

  ====== ========================================================================
  4401   authentication: no token, malformed, bad signature, expired, revoked...
  4403   forbidden: a token for another room, or a page of another site (Origin)
  4404   no such room
  4408   the client reads too slowly; its queue of frames overflowed
  1011   the server cannot serve the room now (Redis unavailable)
  ====== ========================================================================

* **Frames** — the client sends ``{"text": "..."}``; every member of the room receives
  ``{"type": "message", "id", "room", "from", "text", "ts"}``. ``id`` is the Redis
  Stream entry ID (``<ms>-<seq>``, from the server's clock) and ``ts`` its time in
  seconds. A bad frame (not JSON, too long, a lone surrogate, a control character)
  answers ``{"type": "error", "error": "bad_message", "detail": ...}``; the socket stays.
  Other frames: ``history`` (on join), ``presence`` (who is in the room), ``closed``.

* **Fan-out** — one app process cannot write to a socket another process holds. Every
  process SUBSCRIBEs to its rooms' channels; a message is PUBLISHed once and Redis
  delivers it to every subscribed process, which writes it to its own sockets. What is
  published is the frame itself, JSON put together by the script, so a process neither
  parses nor encodes it; each socket has its own writer task and queue, so a socket that
  reads slowly delays no other (and is closed with 4408 when its queue overflows).
  Pub/sub is fire-and-forget: a process that is not subscribed at that moment never
  sees the message. So each message is also appended to a Stream (``XADD ... MAXLEN ~``),
  the bounded history a joining member reads first. Both happen in one Lua script, so
  the stream and the channel see messages in the same order.

* **Revocation reaches open sockets** — `TokenStore` PUBLISHes every revocation on
  ``<prefix>:revocations`` (naming the member ``sub`` and the token, session family or
  member); each process re-runs the flow-2 check for the sockets it
  names (by token, session family or member) and closes those refused, with the reason.
  A socket whose token reaches ``exp`` is closed at ``exp`` (by the service's clock).

Keys (every name comes from `chat_key`, so they follow the token store's prefix)::

    <prefix>:chat:{room:<room>}:messages   pub/sub channel: message and presence frames
    <prefix>:chat:{room:<room>}:history    STREAM  from, text; MAXLEN ~ HISTORY_KEPT
    <prefix>:chat:{room:<room>}:presence   ZSET    "<socket id>:<name>" -> deadline (Unix s)

* **On a Redis Cluster** (``jwtlab serve --redis-url redis+cluster://host:port``) the
  commands go through ``redis.asyncio.cluster.RedisCluster``, each to the node serving its
  key; one room's keys share the hash tag ``{room:<room>}``, so each script's keys are in
  one slot. The subscription is a plain connection to **one** node: a classic ``PUBLISH``
  on any node is forwarded over the cluster bus to every other node (Redis 7.0
  ``src/cluster.c``, ``clusterPropagatePublish``), so one node hears every channel. If
  that node goes away, the hub subscribes on the next node it knows.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketState

from jwtlab.auth import AuthService, CheckResult, Reason
from jwtlab.web.app import (
    ACCESS_COOKIE,
    MAX_MESSAGE_LENGTH,
    ROOM_COOKIE_PREFIX,
    WebFlows,
    bearer_token,
)
from jwtlab.web.chat_store import (
    HISTORY_KEPT,
    SEND_SCRIPT,
    chat_key,
    frames_from_entries,
    history_command,
)

CLOSE_AUTHENTICATION = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NO_SUCH_ROOM = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_SERVER_ERROR = 1011  # RFC 6455 §7.4.1: the server met a condition it cannot handle
REDIS_DOWN = "Redis is unavailable, so the room cannot be served; try again in a moment"
# redis-py raises RedisClusterException, which is not a RedisError, when a cluster client
# reaches no node at all
REDIS_ERRORS = (redis.RedisError, redis.exceptions.RedisClusterException)
LISTEN_RETRY = 0.5  # s between attempts to read pub/sub again after the connection dropped

MAX_FRAME_CHARACTERS = 8 * MAX_MESSAGE_LENGTH  # room for JSON escapes (\\uXXXX is 6 per char)
PRESENCE_LIFETIME = 30.0  # s: a socket not refreshed within this is no longer present
PRESENCE_REFRESH = 10.0  # s: how often a process refreshes its sockets' presence entries
OUTBOX_FRAMES = 256  # frames queued for one socket before it counts as too slow
MESSAGES_PER_SECOND = 50.0  # each socket's steady rate (a token bucket, as in notebook 04)
MESSAGE_BURST = 250  # ... and how many it may send at once (a notebook's measuring loop)
EXPIRY_POLL = 0.5  # s: the longest the expiry watch sleeps (an injected clock may jump)

# KEYS: presence zset, room channel;  ARGV: 'join' | 'leave', entry, deadline, now, room, ttl
# One script, so two processes announcing at once publish their lists in order.
_PRESENCE = """
if ARGV[1] == 'join' then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
else
  redis.call('ZREM', KEYS[1], ARGV[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[6])
local names, seen = {}, {}
for _, entry in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local name = string.sub(entry, string.find(entry, ':', 1, true) + 1)
  if not seen[name] then
    seen[name] = true
    table.insert(names, name)
  end
end
table.sort(names)
-- the frame as members get it (cjson would encode an empty list as {}, and order keys freely)
local members = '[]'
if #names > 0 then members = cjson.encode(names) end
redis.call('PUBLISH', KEYS[2], '{"type": "presence", "room": ' .. cjson.encode(ARGV[5])
  .. ', "members": ' .. members .. '}')
return #names
"""


# What a message may not hold, found by one regex search (a loop over the characters in
# Python took ten times as long: ~40 µs for a message of MAX_MESSAGE_LENGTH, on every send):
# a lone surrogate (U+D800-U+DFFF, not Unicode text), or a control character other than tab
# and newline. The control characters are exactly Unicode's category Cc, U+0000-U+001F and
# U+007F-U+009F (fixed by the Unicode stability policy).
_UNFIT_CHARACTER = re.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ud800-\\udfff]")


def close_reason(text: str, limit: int = 123) -> str:
    """``text`` cut to fit a close frame (RFC 6455 §5.5: 125 bytes, 2 of them the code),
    never in the middle of a UTF-8 sequence."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "..."


def _id_order(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def message_problem(raw: Any) -> tuple[str | None, str | None]:
    """Check one frame a client sent: ``(text, None)`` if it is a good message,
    ``(None, why)`` if not — ``why`` says what is wrong and what to send instead."""
    if not isinstance(raw, str):
        return None, 'send text frames holding JSON such as {"text": "hello"}, not binary'
    if len(raw) > MAX_FRAME_CHARACTERS:
        return None, f"the frame is {len(raw)} characters long; send at most {MAX_FRAME_CHARACTERS}"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        return None, f'the frame is not JSON ({error}); send {{"text": "..."}}'
    if not isinstance(data, dict):
        return None, f'send a JSON object {{"text": "..."}}, not a {type(data).__name__}'
    unknown = sorted(set(data) - {"text"})
    if unknown:
        return None, f'unknown field {unknown[0]!r}; a message is {{"text": "..."}} only'
    text = data.get("text")
    if not isinstance(text, str):
        return None, f'"text" must be a string, not {type(text).__name__}'
    unfit = _UNFIT_CHARACTER.search(text)
    if unfit:
        char, position = unfit.group(), unfit.start()
        if 0xD800 <= ord(char) <= 0xDFFF:
            return None, (
                f"the text holds a lone surrogate U+{ord(char):04X} at position {position}: "
                "that is not valid Unicode; send UTF-8 text (a pair \\ud83d\\ude00 is fine)"
            )
        return None, (
            f"the text holds the control character U+{ord(char):04X} at position {position}; "
            "remove it"
        )
    if not text.strip():
        return None, "the message is empty; write something"
    if len(text) > MAX_MESSAGE_LENGTH:
        return None, (
            f"the message is {len(text)} characters long; the limit is {MAX_MESSAGE_LENGTH}"
        )
    return text, None


@dataclass(eq=False)
class ChatSocket:
    """One open socket of one member, and the frames waiting to be written to it.

    The frames wait in ``outbox``, a plain deque that one writer task per socket empties
    (`ChatHub._write`): a slow reader delays only its own socket. The writer sleeps on one
    future while the deque is empty, and `_put` wakes it: cheaper than an `asyncio.Queue`,
    whose bookkeeping (getters, putters, unfinished tasks) ran for every frame of every
    socket of the room.
    """

    websocket: WebSocket
    room: str
    token: str
    claims: dict[str, Any]
    socket_id: str = field(default_factory=lambda: secrets.token_hex(8))
    outbox: collections.deque[str | _Close] = field(default_factory=collections.deque)
    _frame_ready: asyncio.Future[None] | None = field(default=None, init=False, repr=False)
    history_until: tuple[int, int] = (0, 0)
    closing: bool = False
    allowance: float = MESSAGE_BURST
    allowance_at: float = field(default_factory=lambda: time.monotonic())

    @property
    def name(self) -> str:
        return str(self.claims.get("name", ""))

    @property
    def exp(self) -> float:
        return float(self.claims.get("exp", 0))

    @property
    def presence_entry(self) -> str:
        return f"{self.socket_id}:{self.name}"

    def matches(self, scope: str, sub: str, identifier: str) -> bool:
        """Does a revocation of ``scope`` (token, family, user) ``identifier`` of member
        ``sub`` name us? A jti or a family is only unique within one member's keys."""
        claim = {"token": "jti", "family": "fam", "user": "sub"}.get(scope)
        return (
            claim is not None
            and str(self.claims.get("sub")) == sub
            and str(self.claims.get(claim)) == identifier
        )

    def may_send(self) -> bool:
        """A token bucket: one flooding client cannot drown the room (or fill the stream)."""
        now = time.monotonic()
        refill = (now - self.allowance_at) * MESSAGES_PER_SECOND
        self.allowance = min(MESSAGE_BURST, self.allowance + refill)
        self.allowance_at = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True

    def offer(self, frame: str) -> None:
        """Queue a frame; a socket whose queue is full is closed instead of stalling the room."""
        if self.closing:
            return
        if len(self.outbox) >= OUTBOX_FRAMES:
            self.close_soon(
                CLOSE_TOO_SLOW,
                "too_slow",
                f"more than {OUTBOX_FRAMES} frames were waiting for this socket; reconnect",
            )
            return
        self._put(frame)

    def close_soon(self, code: int, reason: str, detail: str) -> None:
        """Ask the writer to send a ``closed`` frame and close, after what is queued."""
        if self.closing:
            return
        self.closing = True
        while len(self.outbox) >= OUTBOX_FRAMES:  # the close matters more than missed frames
            self.outbox.popleft()
        self._put(_Close(code, reason, detail))

    def lead_with(self, frame: str, keep: Callable[[Any], bool]) -> None:
        """Put ``frame`` ahead of everything queued, dropping the queued items ``keep`` refuses."""
        queued = [item for item in self.outbox if keep(item)]
        self.outbox.clear()
        self.outbox.extend(queued)
        self.outbox.appendleft(frame)
        self._wake_writer()

    async def next_item(self) -> str | _Close:
        """The next frame (or the close) for the writer, waiting while there is none."""
        while not self.outbox:
            self._frame_ready = asyncio.get_running_loop().create_future()
            await self._frame_ready
        return self.outbox.popleft()

    def _put(self, item: str | _Close) -> None:
        self.outbox.append(item)
        self._wake_writer()

    def _wake_writer(self) -> None:
        ready = self._frame_ready
        if ready is not None and not ready.done():
            ready.set_result(None)


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str
    detail: str


def refusal_code(check: CheckResult) -> int:
    """4403 for another room's token, 4401 for everything else a check refuses."""
    return CLOSE_FORBIDDEN if check.reason is Reason.WRONG_ROOM else CLOSE_AUTHENTICATION


class ChatHub:
    """The sockets this process holds, and its one subscription to Redis."""

    def __init__(self, flows: WebFlows) -> None:
        self.flows = flows
        self.sockets: dict[str, set[ChatSocket]] = {room: set() for room in flows.rooms}
        self._redis: Any = None  # commands: a client of the server, or of the cluster
        self._subscriber: Any = None  # pub/sub: the same client, or one cluster node's
        self._pubsub: Any = None
        self._subscriber_options: dict[str, Any] = {}
        self._subscriber_tried: list[str] = []  # cluster nodes, "host:port", in order tried
        self._tasks: list[asyncio.Task[None]] = []
        self._revocation_tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._send_script: Any = None
        self._presence_script: Any = None

    # -- names ----------------------------------------------------------------------------

    @property
    def service(self) -> AuthService:
        return self.flows.service  # looked up each time: tests may swap the service

    def key(self, room: str, part: str) -> str:
        return chat_key(self.service.prefix, room, part)

    @property
    def clock(self) -> Callable[[], float]:
        return self.service.clock

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def on_cluster(self) -> bool:
        return _is_cluster(self.flows.redis)

    @property
    def subscribed_to(self) -> str | None:
        """``host:port`` of the server whose pub/sub this process listens to (None before
        the first socket)."""
        if self._subscriber is None:
            return None
        settings = self._subscriber.connection_pool.connection_kwargs
        if "path" in settings:
            return str(settings["path"])
        return f"{settings.get('host')}:{settings.get('port')}"

    async def start(self) -> None:
        """Connect and subscribe, once, on the first socket (inside the server's loop)."""
        async with self._lock:
            if self._redis is not None:
                return
            client, subscriber, self._subscriber_options = async_clients_like(self.flows.redis)
            try:
                self._pubsub = await self._subscribe(subscriber)
            except BaseException:
                await _close_quietly(client, subscriber)
                raise
            self._redis, self._subscriber = client, subscriber
            self._send_script = NodeScript(client, SEND_SCRIPT)
            self._presence_script = NodeScript(client, _PRESENCE)
            self._tasks = [
                asyncio.create_task(self._listen(), name="chat-listen"),
                asyncio.create_task(self._watch_expiry(), name="chat-expiry"),
                asyncio.create_task(self._refresh_presence(), name="chat-presence"),
            ]

    async def close(self) -> None:
        """Close every socket (1001 going away), stop the tasks, drop the Redis connections."""
        for room_sockets in self.sockets.values():
            for chat_socket in list(room_sockets):
                chat_socket.close_soon(1001, "server_stopping", "the server is stopping")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await _close_quietly(self._pubsub, self._subscriber, self._redis)
        self._redis = self._subscriber = self._pubsub = None

    async def _renew_cluster_client(self) -> None:
        """A cluster client that reaches no node it knows (redis-py drops a node from its
        list when the node fails; older versions can end with none) is made again from the
        app's synchronous client, which knows every node."""
        async with self._lock:
            if self._redis is None:
                return
            old, self._redis = self._redis, async_cluster_client_like(self.flows.redis)
            self._send_script = NodeScript(self._redis, SEND_SCRIPT)
            self._presence_script = NodeScript(self._redis, _PRESENCE)
        await _close_quietly(old)

    async def _subscribe(self, subscriber: Any) -> Any:
        """SUBSCRIBE ``subscriber`` to the revocations and every room's channel."""
        pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
        channels = [self.key(room, "messages") for room in self.flows.rooms]
        try:
            await pubsub.subscribe(self.service.tokens.revocations_channel(), *channels)
        except BaseException:
            await _close_quietly(pubsub)
            raise
        return pubsub

    async def _subscribe_elsewhere(self) -> None:
        """On a cluster: the node we listened to stopped answering; subscribe on another.

        Any node will do (a PUBLISH reaches every node); the nodes are taken in turn from
        the cluster client's table, the one that failed last. Raises RedisError if the
        chosen node does not answer either: the listener then tries the next one.
        """
        import redis.asyncio as aioredis

        failed = self.subscribed_to
        await _close_quietly(self._pubsub, self._subscriber)
        self._pubsub = self._subscriber = None
        if failed is not None:
            self._subscriber_tried.append(failed)
        # the nodes the cluster client knows now; if it has forgotten them all, the app's
        # synchronous client's
        sync_cluster: Any = self.flows.redis  # a RedisCluster here (only a cluster has nodes)
        known = self._redis.get_nodes() or sync_cluster.get_nodes()
        nodes = [f"{node.host}:{node.port}" for node in known]
        untried = [node for node in nodes if node not in self._subscriber_tried]
        if not untried:  # every node has failed once: start the round again
            self._subscriber_tried = [failed] if failed else []
            untried = [node for node in nodes if node != failed] or nodes
        host, _, port = untried[0].rpartition(":")
        subscriber = aioredis.Redis(host=host, port=int(port), **self._subscriber_options)
        try:
            self._pubsub = await self._subscribe(subscriber)
        except BaseException:
            self._subscriber_tried.append(untried[0])
            await _close_quietly(subscriber)
            raise
        self._subscriber = subscriber

    # -- the socket ----------------------------------------------------------------------

    async def endpoint(self, websocket: WebSocket) -> None:
        """``/rooms/{room}/ws``: authenticate, send the history, then relay until closed."""
        # Accept first, then refuse with a close frame: a refusal before accepting is a
        # bare HTTP 403 and the browser would never see the reason.
        await websocket.accept()
        room = websocket.path_params.get("room", "")
        try:
            chat_socket = await self._admit(websocket, room)
            if chat_socket is None:
                return
            await self.start()
        except REDIS_ERRORS:
            await _refuse(websocket, CLOSE_SERVER_ERROR, "server_error", REDIS_DOWN)
            return
        self.sockets[room].add(chat_socket)
        writer = asyncio.create_task(self._write(chat_socket), name="chat-writer")
        try:
            await self._send_history(chat_socket)
            await self._announce(chat_socket, "join")
            await self._read(chat_socket)
        except REDIS_ERRORS:
            chat_socket.close_soon(CLOSE_SERVER_ERROR, "server_error", REDIS_DOWN)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(writer, 5)
        finally:
            self.sockets[room].discard(chat_socket)
            chat_socket.closing = True
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            with contextlib.suppress(Exception):
                await self._announce(chat_socket, "leave")

    async def _admit(self, websocket: WebSocket, room: str) -> ChatSocket | None:
        origin_problem = _origin_problem(websocket)
        if origin_problem:
            await _refuse(websocket, CLOSE_FORBIDDEN, "cross_site", origin_problem)
            return None
        if room not in self.sockets:
            rooms = ", ".join(self.flows.rooms)
            await _refuse(websocket, CLOSE_NO_SUCH_ROOM, "no_such_room", f"rooms are: {rooms}")
            return None
        token, problem = bearer_token(websocket)
        if problem:
            await _refuse(websocket, CLOSE_AUTHENTICATION, str(Reason.MALFORMED), problem)
            return None
        if token is None:
            cookie = ROOM_COOKIE_PREFIX + room if self.flows.option == "B" else ACCESS_COOKIE
            token = websocket.cookies.get(cookie)
        check = await self._check(token, room)
        if token is None or not check.allowed:  # no token: the check refused it as missing
            await _refuse(websocket, refusal_code(check), str(check.reason), check.detail)
            return None
        return ChatSocket(websocket, room, token.strip(), dict(check.claims or {}))

    async def _check(self, token: str | None, room: str) -> CheckResult:
        """The flow-2 check: the room token for ``room`` (option B) or the access token (A)."""
        scope = room if self.flows.option == "B" else None
        return await run_in_threadpool(self.service.check_flow2, token, room=scope)

    async def _read(self, chat_socket: ChatSocket) -> None:
        websocket = chat_socket.websocket
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if chat_socket.closing:
                continue
            text, problem = message_problem(message.get("text"))
            if problem:
                chat_socket.offer(
                    _dumps({"type": "error", "error": "bad_message", "detail": problem})
                )
                await asyncio.sleep(0)  # let the writer run: frames already read come in a burst
                continue
            if not chat_socket.may_send():
                detail = (
                    f"too many messages: at most {MESSAGES_PER_SECOND:g} a second "
                    f"(bursts of {MESSAGE_BURST}); this one was not sent, wait a moment"
                )
                chat_socket.offer(_dumps({"type": "error", "error": "too_fast", "detail": detail}))
                await asyncio.sleep(0)  # let the writer run: frames already read come in a burst
                continue
            try:
                await self._send_script(
                    keys=[
                        self.key(chat_socket.room, "history"),
                        self.key(chat_socket.room, "messages"),
                    ],
                    args=[HISTORY_KEPT, chat_socket.room, chat_socket.name, text],
                )
            except REDIS_ERRORS as error:
                detail = "the message was not sent: Redis is unavailable; send it again"
                chat_socket.offer(_dumps({"type": "error", "error": "not_sent", "detail": detail}))
                if isinstance(error, redis.exceptions.RedisClusterException):
                    await self._renew_cluster_client()

    async def _write(self, chat_socket: ChatSocket) -> None:
        """The one task that writes to the socket: frames in order, then the close."""
        websocket = chat_socket.websocket
        while True:
            item = await chat_socket.next_item()
            if isinstance(item, _Close):
                with contextlib.suppress(Exception):
                    await websocket.send_text(
                        _dumps(
                            {
                                "type": "closed",
                                "code": item.code,
                                "reason": item.reason,
                                "detail": item.detail,
                            }
                        )
                    )
                    await websocket.close(item.code, close_reason(f"{item.reason}: {item.detail}"))
                return
            if websocket.application_state is not WebSocketState.CONNECTED:
                return
            await websocket.send_text(item)

    # -- history and presence --------------------------------------------------------------

    async def _send_history(self, chat_socket: ChatSocket) -> None:
        """The newest entries of the room's stream, oldest first, before any live message.

        The socket is registered before this read, so a message sent meanwhile is both
        live-queued and in the stream; the writer drops live ones the history already held.
        """
        # undecoded: an entry that is not UTF-8 (another program's) is repaired, not fatal
        entries = await self._redis.execute_command(
            *history_command(self.service.prefix, chat_socket.room), NEVER_DECODE=True
        )
        messages = frames_from_entries(entries, chat_socket.room)
        if messages:
            chat_socket.history_until = _id_order(messages[-1]["id"])
        frame = {"type": "history", "room": chat_socket.room, "messages": messages}
        # ahead of anything the listener queued meanwhile
        chat_socket.lead_with(
            _dumps(frame),
            keep=lambda item: not _already_in_history(item, chat_socket.history_until),
        )

    async def _announce(self, chat_socket: ChatSocket, action: str) -> None:
        now = time.time()
        await self._presence_script(
            keys=[self.key(chat_socket.room, "presence"), self.key(chat_socket.room, "messages")],
            args=[
                action,
                chat_socket.presence_entry,
                now + PRESENCE_LIFETIME,
                now,
                chat_socket.room,
                int(PRESENCE_LIFETIME * 2),
            ],
        )

    async def _refresh_presence(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_REFRESH)
            deadline = time.time() + PRESENCE_LIFETIME
            pipe = self._redis.pipeline(transaction=False)
            for room, room_sockets in self.sockets.items():
                for chat_socket in room_sockets:
                    pipe.zadd(self.key(room, "presence"), {chat_socket.presence_entry: deadline})
            with contextlib.suppress(Exception):
                await pipe.execute()

    # -- what Redis delivers ---------------------------------------------------------------

    async def _listen(self) -> None:
        """Relay what Redis delivers. If the connection drops, the next read reconnects and
        subscribes again (redis-py does both; on a cluster, on another node); what was
        published meanwhile is lost to pub/sub but not to the stream."""
        while True:
            try:
                if self._pubsub is None:  # on a cluster, after a node stopped answering
                    await self._subscribe_elsewhere()
                await self._relay()
            except REDIS_ERRORS:
                await asyncio.sleep(LISTEN_RETRY)
                if self.on_cluster and self._pubsub is not None:
                    with contextlib.suppress(*REDIS_ERRORS):
                        await self._subscribe_elsewhere()

    async def _relay(self) -> None:
        revocations = self.service.tokens.revocations_channel()
        rooms_by_channel = {self.key(room, "messages"): room for room in self.flows.rooms}
        async for message in _messages(self._pubsub):
            channel = message["channel"]
            if channel == revocations:
                # a task, so a slow re-check never holds up the room's messages
                task = asyncio.create_task(self._on_revocation(message["data"]))
                self._revocation_tasks.add(task)
                task.add_done_callback(self._revocation_tasks.discard)
                continue
            room = rooms_by_channel.get(channel)
            if room is None:
                continue
            # the frame as the members get it, put together once by the script that
            # published it (chat_store.SEND_SCRIPT, _PRESENCE): written as it is
            frame = message["data"]
            for chat_socket in list(self.sockets[room]):
                chat_socket.offer(frame)

    async def _on_revocation(self, data: str) -> None:
        """Re-check every socket the event names; close those the check now refuses."""
        try:
            event = json.loads(data)
            scope, sub, identifier = str(event["scope"]), str(event["sub"]), str(event["id"])
        except (ValueError, KeyError, TypeError):
            return
        named = [
            chat_socket
            for room_sockets in self.sockets.values()
            for chat_socket in room_sockets
            if chat_socket.matches(scope, sub, identifier)
        ]
        for chat_socket in named:
            check = await self._check(chat_socket.token, chat_socket.room)
            if not check.allowed:
                chat_socket.close_soon(refusal_code(check), str(check.reason), check.detail)

    async def _watch_expiry(self) -> None:
        """Close each socket when its token reaches ``exp`` (RFC 7519 §4.1.4)."""
        while True:
            now = self.clock()
            soonest = now + EXPIRY_POLL
            for room_sockets in self.sockets.values():
                for chat_socket in list(room_sockets):
                    if chat_socket.closing:
                        continue
                    if chat_socket.exp <= now:
                        when = dt.datetime.fromtimestamp(chat_socket.exp, dt.UTC)
                        chat_socket.close_soon(
                            CLOSE_AUTHENTICATION,
                            str(Reason.EXPIRED),
                            f"the token expired at {when:%Y-%m-%dT%H:%M:%SZ} "
                            f"(exp={int(chat_socket.exp)}); open the room again for a new one",
                        )
                    else:
                        soonest = min(soonest, chat_socket.exp)
            await asyncio.sleep(max(0.0, min(soonest - now, EXPIRY_POLL)))


# -- small helpers --------------------------------------------------------------------------


def _already_in_history(item: Any, history_until: tuple[int, int]) -> bool:
    if not isinstance(item, str) or '"type": "message"' not in item[:20]:
        return False
    return _id_order(json.loads(item)["id"]) <= history_until


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False)


async def _messages(pubsub: Any) -> AsyncIterator[dict[str, Any]]:
    while True:
        message = await pubsub.get_message(timeout=None)
        if message is not None and message["type"] in ("message", "pmessage"):
            yield message


def _origin_problem(websocket: WebSocket) -> str | None:
    """A browser sends ``Origin`` with every WebSocket handshake (RFC 6455 §4.1). A page on
    another site could otherwise open a socket with our member's cookie (cross-site
    WebSocket hijacking); clients that are not browsers send no Origin."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return None
    host = websocket.headers.get("host", "")
    if urlsplit(origin).netloc.lower() != host.lower():
        return f"a page from {origin} may not open this socket; open the room from this site"
    return None


async def _refuse(websocket: WebSocket, code: int, reason: str, detail: str) -> None:
    frame = {"type": "closed", "code": code, "reason": reason, "detail": detail}
    with contextlib.suppress(Exception):
        await websocket.send_text(_dumps(frame))
        await websocket.close(code, close_reason(f"{reason}: {detail}"))


class NodeScript:
    """A Lua script run with ``EVALSHA``, and with ``EVAL`` when the node answers
    ``NOSCRIPT`` (which also caches it there for the next ``EVALSHA``).

    redis-py's own scripts answer ``NOSCRIPT`` with ``SCRIPT LOAD``, which a cluster
    client sends to every primary: one dead primary, and a room on a live node could not
    send. This asks only the node serving the keys."""

    def __init__(self, client: Any, text: str) -> None:
        self.client = client
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def __call__(self, *, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self.client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return await self.client.eval(self.text, len(keys), *keys, *args)


def _is_cluster(client: Any) -> bool:
    from redis.cluster import RedisCluster

    return isinstance(client, RedisCluster)


def async_clients_like(client: Any) -> tuple[Any, Any, dict[str, Any]]:
    """Asyncio clients for the Redis that the synchronous ``client`` talks to, with the same
    credentials: ``(commands, subscriber, subscriber_options)``. Pub/sub needs a connection
    of its own that waits without blocking the event loop.

    One server: one ``redis.asyncio.Redis`` (same database) does both. A cluster (a
    ``redis.cluster.RedisCluster``): a ``redis.asyncio.cluster.RedisCluster`` for the
    commands, and a plain ``redis.asyncio.Redis`` to one node (the client's default node)
    for pub/sub, since a classic PUBLISH reaches every node; ``subscriber_options`` make
    another node's subscriber (`ChatHub` moves there if that node goes away).
    """
    import redis.asyncio as aioredis

    if _is_cluster(client):
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No retries on the node it listens to: when that node goes, the hub moves to
        # another at once instead of trying the dead one again with growing pauses.
        options = {**_cluster_options(client), "retry": Retry(NoBackoff(), 0)}
        node = client.get_default_node()
        subscriber = aioredis.Redis(host=node.host, port=node.port, **options)
        return async_cluster_client_like(client), subscriber, options
    settings = client.connection_pool.connection_kwargs
    wanted = ("host", "port", "db", *_CREDENTIALS)
    options = {name: settings[name] for name in wanted if name in settings}
    if "path" in settings:
        options = {"unix_socket_path": settings["path"], "db": settings.get("db", 0)}
    if "SSL" in client.connection_pool.connection_class.__name__:
        options["ssl"] = True
    single = aioredis.Redis(decode_responses=True, **options)
    return single, single, {**options, "decode_responses": True}


_CREDENTIALS = ("username", "password", "socket_connect_timeout")


def _cluster_options(client: Any) -> dict[str, Any]:
    """The connection settings of a ``RedisCluster``'s nodes (credentials, TLS)."""
    settings = client.nodes_manager.connection_kwargs
    options = {name: settings[name] for name in _CREDENTIALS if settings.get(name) is not None}
    if "SSL" in getattr(settings.get("connection_class"), "__name__", ""):
        options["ssl"] = True
    options["decode_responses"] = True
    return options


def async_cluster_client_like(client: Any) -> Any:
    """A ``redis.asyncio.cluster.RedisCluster`` for the cluster of the synchronous ``client``,
    given every node that one knows: should a node die, it reads the slot map again from
    the first of the others that answers."""
    from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
    from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

    startup = [AsyncClusterNode(node.host, node.port) for node in client.get_nodes()]
    return AsyncRedisCluster(startup_nodes=startup, **_cluster_options(client))


async def _close_quietly(*clients: Any) -> None:
    """``aclose()`` each (a pubsub, a client; None and repeats skipped), errors ignored."""
    seen: set[int] = set()
    for item in clients:
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        with contextlib.suppress(Exception):
            await item.aclose()


CHAT_SCRIPT = Path(__file__).with_name("static") / "chat.js"


async def chat_script(request: Request) -> Response:
    """``/static/chat.js``: the room page's script (read each time: edit it, reload)."""
    return Response(CHAT_SCRIPT.read_text(encoding="utf-8"), media_type="text/javascript")


def attach_chat(app: Any) -> ChatHub:
    """Add ``/rooms/{room}/ws`` to a `create_app` app, and close the hub with the app."""
    hub = ChatHub(app.state.flows)
    app.router.routes.append(WebSocketRoute("/rooms/{room}/ws", hub.endpoint))
    app.router.routes.append(Route("/static/chat.js", chat_script))
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            try:
                yield state
            finally:
                await hub.close()

    app.router.lifespan_context = lifespan
    app.state.chat = hub
    return hub
