"""Where the chat's messages live in Redis: a Stream for history, a channel for fan-out.

Every message is written by one Lua script that does two things atomically (a script
runs alone on the server, https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/):

* ``XADD <history> MAXLEN ~ N * from <name> text <text>`` — appends to the room's Stream.
  The entry ID the server assigns, ``<milliseconds>-<sequence>``, becomes the message's
  ``id``; its time part is ``ts``. ``~`` lets Redis trim only whole nodes of the stream
  (cheaper), so a little more than N entries may stay.
* ``PUBLISH <channel> <frame>`` — every app process subscribed to the room's channel gets
  the frame at once. Nobody subscribed, nobody gets it: pub/sub keeps nothing. The frame
  is the very JSON text every member receives (`message_frame`'s keys, in its order, ``ts``
  included), built once by the script: each app process writes it to its sockets as it
  is, with no parsing and no encoding per process.

Both the socket (`jwtlab.web.chat`) and the form/JSON API (`jwtlab.web.app`) post through
`post_message`, so a message sent either way reaches every open socket.
"""

from __future__ import annotations

from typing import Any

HISTORY_KEPT = 100  # XADD MAXLEN ~ this
HISTORY_SENT = 50  # the newest entries a joining member (or the room page) gets

# KEYS: history stream, room channel;  ARGV: maxlen, room, from, text
# cjson.encode of a table would order its keys as the table's hash does; the frame is put
# together in message_frame's order instead, from cjson-encoded strings. ts is the entry
# ID's milliseconds as seconds ('%.3f': exact, the ID's time has 13 digits).
SEND_SCRIPT = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                      'from', ARGV[3], 'text', ARGV[4])
local ts = string.format('%.3f', tonumber(string.match(id, '^%d+')) / 1000)
redis.call('PUBLISH', KEYS[2], '{"type": "message", "id": ' .. cjson.encode(id)
  .. ', "room": ' .. cjson.encode(ARGV[2]) .. ', "from": ' .. cjson.encode(ARGV[3])
  .. ', "text": ' .. cjson.encode(ARGV[4]) .. ', "ts": ' .. ts .. '}')
return id
"""


def chat_key(prefix: str, room: str, part: str) -> str:
    """Every chat key and channel is named here: ``<prefix>:chat:{room:<room>}:<part>``
    (``messages`` the channel, ``history`` the stream, ``presence`` the sorted set).

    ``{room:<room>}`` is a hash tag: on a Redis Cluster all of one room's keys live in one
    hash slot, so a script may name the stream, the presence set and the channel together
    (its keys must share a slot). The channel needs no slot of its own (a classic
    ``PUBLISH`` reaches every node), but it is passed to the scripts in ``KEYS`` with the
    others, so it carries the same tag."""
    return f"{prefix}:chat:{{room:{room}}}:{part}"


def stream_id_time(entry_id: str) -> float:
    """The time in a stream entry ID ``<milliseconds>-<sequence>``, in seconds."""
    return int(entry_id.split("-", 1)[0]) / 1000


def message_frame(entry_id: str, room: str, sender: str, text: str) -> dict[str, Any]:
    """The frame every member receives, in one fixed key order."""
    return {
        "type": "message",
        "id": entry_id,
        "room": room,
        "from": sender,
        "text": text,
        "ts": stream_id_time(entry_id),
    }


def _text(value: Any) -> str:
    # bytes that are not UTF-8 (another program's entry) become U+FFFD, never an exception
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def frames_from_entries(entries: list[Any], room: str) -> list[dict[str, Any]]:
    """XREVRANGE's answer (newest first) as message frames, oldest first."""
    frames = []
    for entry_id, fields in reversed(entries):
        fields = {_text(name): _text(value) for name, value in fields.items()}
        frames.append(
            message_frame(_text(entry_id), room, fields.get("from", ""), fields.get("text", ""))
        )
    return frames


def post_message(redis_client: Any, prefix: str, room: str, sender: str, text: str) -> str:
    """Append to the room's stream and publish to its channel (one script); the entry ID."""
    script = redis_client.register_script(SEND_SCRIPT)
    entry_id = script(
        keys=[chat_key(prefix, room, "history"), chat_key(prefix, room, "messages")],
        args=[HISTORY_KEPT, room, sender, text],
    )
    return _text(entry_id)


def recent_messages(
    redis_client: Any, prefix: str, room: str, count: int = HISTORY_SENT
) -> list[dict[str, Any]]:
    """The room's newest ``count`` messages, oldest first (``XREVRANGE ... COUNT``).

    Read undecoded, so that an entry holding bytes that are not UTF-8 (written by another
    program) is repaired by `frames_from_entries` instead of failing the whole read."""
    entries = redis_client.execute_command(*history_command(prefix, room, count), NEVER_DECODE=True)
    return frames_from_entries(entries, room)


def history_command(prefix: str, room: str, count: int = HISTORY_SENT) -> tuple[Any, ...]:
    """``XREVRANGE <history> + - COUNT <count>``: the newest entries, newest first. Both
    readers (the page, the socket) send it with ``NEVER_DECODE``."""
    return ("XREVRANGE", chat_key(prefix, room, "history"), "+", "-", "COUNT", count)
