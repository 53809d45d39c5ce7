"""Test kit: a compromised host. The REAL host app (``hostkit``) does all the work — login,
policy, trace, notifications — and an ASGI middleware in front of it rewrites the strings of its
JSON answers (titles, names, facilities, trace details, notification texts, notes) and the text
of documents into hostile values: markup, escape sequences, bidirectional overrides, zero-width
characters, NUL, C1 controls, a 10,000-character word. Nothing is mocked: the app talks HTTP to
uvicorn, and every answer is the host's own answer, changed on the way out as a host that has
been broken into would.

``compromised(host)`` serves the same app object a second time, behind the middleware, on
another port; the honest URL stays usable (a practitioner deposits through it, a test reads the
database)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hostkit import LiveHost, serve

# --- the hostile values ------------------------------------------------------------------------

MARKUP = "[red]x[/red] [link=https://evil]l[/link] [@click=app.quit]q[/]"
ANSI = "\x1b[2J"
OSC52 = "\x1b]52;c;SGVsbG8=\x07"  # "copy Hello to the clipboard"
OSC_TITLE = "\x1b]0;title\x07"  # "set the window title"
ESCAPES = f"e{ANSI}{OSC52}{OSC_TITLE}"
BIDI = "b\u202eevil\u202c \u2066i\u2067s\u2068o\u2069"
ZERO_WIDTH = "z\u200bw\u200dj\ufeffb"
NUL_C1 = "n\x00l c\x85\x9b1"
LONG_WORD = "W" * 10_000

# In this order, one after the other, row after row; each field starts at its own place in the
# cycle, so one row mixes several kinds.
VALUES = (MARKUP, ESCAPES, BIDI, ZERO_WIDTH, NUL_C1, LONG_WORD)
SHORT_VALUES = VALUES[:-1]

# Their visible forms (the app's convention: a code point in angle brackets).
SEEN = {
    MARKUP: MARKUP,
    ESCAPES: "e<U+001B>[2J<U+001B>]52;c;SGVsbG8=<U+0007><U+001B>]0;title<U+0007>",
    BIDI: "b<U+202E>evil<U+202C> <U+2066>i<U+2067>s<U+2068>o<U+2069>",
    ZERO_WIDTH: "z<U+200B>w<U+200D>j<U+FEFF>b",
    NUL_C1: "n<U+0000>l c<U+0085><U+009B>1",
    LONG_WORD: LONG_WORD,
}

# Raw sequences that must never reach a screen or a terminal from data.
RAW = ("\x1b", "\x00", "\x07", "\x85", "\x9b", "\u202e", "\u2066", "\u200b", "\ufeff")

# JSON keys rewritten, and where each starts in the cycle.
FIELDS: dict[str, int] = {
    "title": 0,
    "name": 1,
    "facility": 2,
    "actor_name": 0,
    "actor_facility": 1,
    "reason": 2,
    "message": 0,  # a notification's {"fr": ..., "en": ...}
}
NOTES = "\n".join(SHORT_VALUES) + "\n" + LONG_WORD
CONTENT = "\n".join(SHORT_VALUES) + "\n" + LONG_WORD + "\nfin"
CARE_DATE = "2025-01-02"


class CompromisedHost:
    """ASGI middleware: the real host's answers, with hostile strings put in.

    Counts what it rewrote (``rewritten``), so a test can show that the values did reach the
    app rather than pass vacuously."""

    def __init__(
        self,
        app: Any,
        fields: dict[str, int] | None = None,
        values: tuple[str, ...] = VALUES,
        notes: str | None = NOTES,
        content: str | None = CONTENT,
    ) -> None:
        self.app = app
        self.fields = FIELDS if fields is None else fields
        self.values = values
        self.notes = notes
        self.content = content
        self.rewritten: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def hold(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = self.rewrite(path, start, b"".join(chunks))
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)

    def rewrite(self, path: str, start: dict[str, Any], body: bytes) -> bytes:
        if not 200 <= start.get("status", 0) < 300 or not body:
            return body
        headers = {k.lower(): v for k, v in start.get("headers", [])}
        kind = headers.get(b"content-type", b"").decode()
        if kind.startswith("text/plain") and self.content is not None:
            self.rewritten["content"] += 1
            return self.content.encode("utf-8")
        if not kind.startswith("application/json"):
            return body
        data = json.loads(body)
        turns: Counter[str] = Counter()
        data = self._walk(data, turns)
        if path.endswith("/record/notes") and isinstance(data, dict) and self.notes is not None:
            data["text"] = self.notes
            self.rewritten["notes"] += 1
        return json.dumps(data).encode()

    def _next(self, key: str, turns: Counter[str]) -> str:
        value = self.values[(self.fields[key] + turns[key]) % len(self.values)]
        turns[key] += 1
        self.rewritten[key] += 1
        return value

    def _walk(self, node: Any, turns: Counter[str]) -> Any:
        if isinstance(node, list):
            return [self._walk(x, turns) for x in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "care_date" and value is not None:
                out[key] = CARE_DATE  # fixed, so that whole lines can be expected exactly
            elif key in self.fields and isinstance(value, str):
                out[key] = self._next(key, turns)
            elif key == "message" and key in self.fields and isinstance(value, dict):
                text = self._next(key, turns)
                out[key] = {lang: text for lang in value}
            else:
                out[key] = self._walk(value, turns)
        return out


@dataclasses.dataclass
class HostileHost(LiveHost):
    """A LiveHost whose ``url`` is the compromised front; ``honest_url`` is the real host."""

    honest_url: str = ""
    front: CompromisedHost | None = None


@contextmanager
def compromised(host: LiveHost, **options: Any) -> Iterator[HostileHost]:
    """Serve ``host``'s own app again, behind ``CompromisedHost``, on another port (lifespan
    off: the honest server owns the app's start and end)."""
    front = CompromisedHost(host.app, **options)
    with serve(front, lifespan="off") as url:
        h = HostileHost(
            url,
            host.db_url,
            host.db_path,
            host.data_dir,
            host.clock,
            host.creds,
            host.app,
            honest_url=host.url,
            front=front,
        )
        try:
            yield h
        finally:
            h.http.close()
