"""A misbehaving host: an ASGI wrapper around the REAL host app, served over real HTTP by
uvicorn (``hostkit.serve``), that misbehaves on chosen routes while a switch is set.

    bad = BadHost(live.app)                    # the real app, real database
    with serve(bad) as url: ...                # the app under test talks to ``url``
    bad.set("html", "/v1/record/documents")    # from now on, that route answers an HTML page
    bad.clear()                                # and behaves again

Misbehaviours (``bad.set(mode, *path_prefixes, times=None)``; ``times`` = how many requests
misbehave before the switch turns itself off; a request with ``?cursor=`` counts like any):

- ``slow``: waits ``delay`` seconds (beyond the client's timeout), then answers for real.
- ``drop``: the real answer is computed, its headers and half its body are sent, then the
  connection is cut (uvicorn closes it: the client sees a broken transfer).
- ``500``: ``Internal Server Error`` as text/plain, the real app not called.
- ``html``: 200 with a proxy-like ``text/html`` page, the real app not called.
- ``html502``: 502 with an HTML page (a reverse proxy whose upstream is down).
- ``expire``: every session of the record is revoked in the real database, then the request
  goes to the real app, which answers its real 401 (and refuses the refresh token too).
- ``loop``: on a request with ``?cursor=X``, the real answer with its ``next_cursor``
  replaced by ``X`` (a page whose next page is itself).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

MODES = {"slow", "drop", "500", "html", "html502", "expire", "loop"}

HTML = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<h1>Service temporarily unavailable</h1><p>nginx</p></body></html>"
)


class _Cut(Exception):
    """Raised after half a body: uvicorn closes the connection mid-answer."""


class BadHost:
    def __init__(self, app: Any, delay: float = 3.0) -> None:
        self.app = app
        self.delay = delay
        self.mode: str | None = None
        self.prefixes: tuple[str, ...] = ()
        self.left: int | None = None
        self.hits = 0
        self._lock = threading.Lock()

    # --- the switch ------------------------------------------------------------------------

    def set(self, mode: str, *prefixes: str, times: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown misbehaviour {mode!r}")
        with self._lock:
            self.mode, self.prefixes, self.left, self.hits = mode, prefixes or ("/",), times, 0

    def clear(self) -> None:
        with self._lock:
            self.mode, self.prefixes, self.left = None, (), None

    def _take(self, scope: dict[str, Any]) -> str | None:
        """The misbehaviour for this request, if any (and count it)."""
        with self._lock:
            if self.mode is None or scope["type"] != "http":
                return None
            path = scope.get("path", "")
            if not any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.prefixes):
                return None
            mode = self.mode
            self.hits += 1
            if self.left is not None:
                self.left -= 1
                if self.left <= 0:
                    self.mode, self.prefixes, self.left = None, (), None
            return mode

    # --- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        mode = self._take(scope)
        if mode is None:
            await self.app(scope, receive, send)
        elif mode == "slow":
            await asyncio.sleep(self.delay)
            await self.app(scope, receive, send)
        elif mode == "500":
            await _answer(send, 500, b"Internal Server Error", b"text/plain; charset=utf-8")
        elif mode == "html":
            await _answer(send, 200, HTML, b"text/html; charset=utf-8")
        elif mode == "html502":
            await _answer(send, 502, HTML, b"text/html; charset=utf-8")
        elif mode == "expire":
            self._revoke_sessions()
            await self.app(scope, receive, send)
        elif mode == "drop":
            await self._drop(scope, receive, send)
        elif mode == "loop":
            await self._loop(scope, receive, send)

    def _revoke_sessions(self) -> None:
        from sqlalchemy import update

        from dmptui.host.db import AuthSession

        host = self.app.state.host
        with host.tx() as s:
            s.execute(
                update(AuthSession)
                .where(AuthSession.revoked_at.is_(None))
                .values(revoked_at=host.now())
            )

    async def _captured(self, scope: dict[str, Any], receive: Callable) -> tuple[dict, bytes]:
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        return start, bytes(body)

    async def _drop(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        start, body = await self._captured(scope, receive)
        await send(start)
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        raise _Cut("connection cut mid-answer (badhostkit)")

    async def _loop(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        start, body = await self._captured(scope, receive)
        query = parse_qs(scope.get("query_string", b"").decode())
        cursor = (query.get("cursor") or [None])[0]
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and "next_cursor" in data and cursor is not None:
            data["next_cursor"] = cursor  # this page's next page is this page
            body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            start = {**start, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": body})


async def _answer(send: Callable, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
