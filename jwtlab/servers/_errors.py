"""The exceptions of :mod:`jwtlab.servers`: one base, :class:`ServerError`, for anything
that goes wrong with a server the kit manages."""

from __future__ import annotations


class ServerError(RuntimeError):
    """Something went wrong with a server the kit manages."""


class EngineNotFoundError(ServerError):
    """No usable Redis-compatible server binary was found."""


class ServerStartError(ServerError):
    """The server process did not come up; the message carries the tail of its log."""
