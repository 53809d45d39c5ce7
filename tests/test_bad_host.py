"""The app facing a misbehaving host (``badhostkit``: the REAL host app behind an ASGI wrapper,
served over real HTTP, misbehaving on chosen routes while a switch is set).

For each misbehaviour — too slow, connection cut mid-answer, 500, HTML instead of JSON, a
session that ends mid-way, a list whose cursor loops — the client raises a typed error, and in
both front ends (the TUI under Pilot, screen-reader mode in process) the patient reads what
happened in words, in English and in French, stays on the same screen with what was shown still
shown, and no traceback is ever printed. An ended session leads to the login, then back to the
same screen."""

from __future__ import annotations

import asyncio
import io
import queue
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from badhostkit import BadHost
from hostkit import LiveHost, serve
from tuikit import login, make_app, settled, status, wait_for

from dmptui import client as client_module
from dmptui import i18n
from dmptui.client import (
    Client,
    CursorLoop,
    HostServerError,
    HostTimeout,
    HostUnreachable,
    NotJson,
    SessionExpired,
)
from dmptui.explain import BY_ERROR
from dmptui.identifiers import spoken_ins
from dmptui.reader.menus import BATCH

DOCS = "/v1/record/documents"
TIMEOUT = 0.6  # the client's timeout in these tests; the slow host waits longer


def short_timeout(client: Client) -> None:
    """The short timeout, from now on: set once logged in and the list loaded, as the host
    starts misbehaving (a login under a loaded machine's test run can take longer than 0.6 s;
    that is not what these tests are about)."""
    client._http.timeout = httpx.Timeout(TIMEOUT)


EXTRA_DOCUMENTS = 60  # so the lists have a second page


@pytest.fixture
def bad(host: LiveHost) -> Iterator[tuple[LiveHost, BadHost, str]]:
    with host.ps("author") as ps:
        for i in range(EXTRA_DOCUMENTS):
            r = ps.post(
                f"/v1/ps/records/{host.ins}/documents",
                json={"type": "11488-4", "title": f"Compte rendu {i:02d}", "content": "ok"},
            )
            assert r.status_code == 201, r.text
    wrapper = BadHost(host.app, delay=TIMEOUT * 4)
    with serve(wrapper) as url:
        yield host, wrapper, url


# --- the client: a typed error for each ------------------------------------------------------


async def _client(host: LiveHost, url: str) -> Client:
    client = Client(url, timeout=TIMEOUT, retries=1)
    client.backoff = 0.01
    challenge = await client.login(host.ins, host.password)
    await client.verify(challenge.challenge, host.code())
    return client


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("slow", HostTimeout),
        ("drop", HostUnreachable),
        ("500", HostServerError),
        ("html502", HostServerError),
        ("html", NotJson),
    ],
)
def test_client_raises_a_typed_error(bad: Any, mode: str, error: type) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        async with await _client(host, url) as client:
            wrapper.set(mode, DOCS)
            with pytest.raises(error) as raised:
                await client.documents(limit=5)
            # A GET is retried once (retries=1) on a failure; a 200, even unreadable, is not.
            assert 1 <= wrapper.hits <= (1 if mode == "html" else 2)
            assert "Traceback" not in str(raised.value)
            wrapper.clear()
            page = await client.documents(limit=5)  # and the host is usable again
            assert len(page.items) == 5

    asyncio.run(run())


def test_client_recovers_when_only_the_first_attempt_fails(bad: Any) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        async with await _client(host, url) as client:
            for mode in ("drop", "500", "slow"):
                wrapper.set(mode, DOCS, times=1)
                page = await client.documents(limit=5)
                assert len(page.items) == 5 and wrapper.hits == 1

    asyncio.run(run())


def test_client_html_on_an_error_status_is_typed_too(bad: Any) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        async with await _client(host, url) as client:
            wrapper.set("html", "/v1/record/notes")
            with pytest.raises(NotJson, match="text/html"):
                await client.save_notes("x")  # a PUT: same answer, typed

    asyncio.run(run())


def test_client_detects_a_looping_cursor(bad: Any) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        async with await _client(host, url) as client:
            first = await client.documents(limit=5)
            assert first.next_cursor
            second = await client.documents(limit=5, cursor=first.next_cursor)
            again = await client.documents(limit=5, cursor=first.next_cursor)  # a retry: fine
            assert [d.id for d in again.items] == [d.id for d in second.items]
            wrapper.set("loop", DOCS)
            with pytest.raises(CursorLoop, match="already shown"):
                await client.documents(limit=5, cursor=second.next_cursor)
            wrapper.clear()
            # A new listing (cursor=None) starts afresh; the real host's pages go to the end.
            page = await client.documents(limit=50)
            seen = [d.id for d in page.items]
            while page.next_cursor:
                page = await client.documents(limit=50, cursor=page.next_cursor)
                seen += [d.id for d in page.items]
            assert len(seen) == len(set(seen)) > EXTRA_DOCUMENTS

    asyncio.run(run())


def test_client_session_ended_mid_way(bad: Any) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        async with await _client(host, url) as client:
            wrapper.set("expire", DOCS, times=1)
            with pytest.raises(SessionExpired):
                await client.documents(limit=5)  # refresh refused too: log in again
            assert not client.logged_in

    asyncio.run(run())


# --- the TUI ---------------------------------------------------------------------------------

TUI_CASES = [
    ("slow", "HostTimeout"),
    ("drop", "HostUnreachable"),
    ("500", "HostServerError"),
    ("html", "NotJson"),
    ("loop", "CursorLoop"),
]


def _words(name: str, lang: str) -> str:
    """The sentence the patient must read for the error class ``name``, in ``lang`` (the
    process language is left as is)."""
    before = i18n.language()
    i18n.set_language(lang)
    try:
        return i18n._(BY_ERROR[getattr(client_module, name).code])
    finally:
        i18n.set_language(before)


async def _tui_documents(pilot: Any, host: LiveHost) -> list[str]:
    from tuikit import goto

    await login(pilot, host)
    await goto(pilot, "documents")
    await settled(pilot)
    return [d.title for d in pilot.app.screen.rows]


async def _near_the_end(pilot: Any) -> None:
    """Go down the list (the keyboard's Down, from row 40) until the next page is asked for."""
    table = pilot.app.screen.table
    table.focus()
    table.move_cursor(row=len(pilot.app.screen.rows) - 12)
    await pilot.pause()
    await pilot.press("down", "down", "down")


def _no_traceback(app: Any) -> None:
    assert getattr(app, "_exception", None) is None
    for line in app.state.messages:
        assert "Traceback" not in line.text and "Error(" not in line.text


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(("mode", "name"), TUI_CASES)
def test_tui_says_it_in_words_and_keeps_the_list(bad: Any, mode: str, name: str, lang: str) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        app = make_app(host, lang, timeout=TIMEOUT)
        app.config.host_url = url
        app.client = Client(url)
        app.client.backoff = 0.01
        async with app.run_test(size=(160, 45)) as pilot:
            shown = await _tui_documents(pilot, host)
            assert len(shown) == 50  # the first page; the rest loads near the end
            screen = app.screen
            short_timeout(app.client)
            wrapper.set(mode, DOCS)
            await _near_the_end(pilot)
            await wait_for(pilot, lambda: wrapper.hits >= 1, timeout=10)
            try:
                await wait_for(pilot, lambda: _words(name, lang) in status(app), timeout=15)
            except AssertionError:
                raise AssertionError(f"status: {status(app)!r}; hits {wrapper.hits}") from None
            wrapper.clear()
            assert app.screen is screen
            assert [d.title for d in app.screen.rows] == shown
            # The host behaves again: going on down the list loads the rest.
            await pilot.press("down")
            await wait_for(pilot, lambda: len(app.screen.rows) > 50, timeout=15)
            assert [d.title for d in app.screen.rows][:50] == shown
            _no_traceback(app)

    asyncio.run(run())


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_tui_session_ended_mid_way_logs_in_and_comes_back(bad: Any, lang: str) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        app = make_app(host, lang)
        app.client = Client(url)  # the host ends the session; it is never slow here
        async with app.run_test(size=(160, 45)) as pilot:
            shown = await _tui_documents(pilot, host)
            screen = app.screen
            wrapper.set("expire", DOCS, times=1)
            await _near_the_end(pilot)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert _words("SessionExpired", lang) in status(app)
            app.screen.query_one("#password").focus()
            await pilot.press(*host.password)
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
            await pilot.press(*host.code())
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is screen)
            await settled(pilot)
            # Back on the same screen, the list kept, and the page that failed now loaded.
            rows = [d.title for d in app.screen.rows]
            assert rows[:50] == shown and len(rows) > 50
            _no_traceback(app)

    asyncio.run(run())


# --- screen-reader mode, in process -----------------------------------------------------------


class Typist(io.TextIOBase):
    """Standard input typed by the test, line by line (the reader reads it in a thread)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def readline(self, size: int = -1) -> str:
        return self.lines.get(timeout=60)

    def isatty(self) -> bool:
        return False


class ReaderRun:
    def __init__(self, host: LiveHost, url: str, lang: str) -> None:
        from dmptui.reader.app import Reader, ReaderConfig
        from dmptui.reader.io import Console

        self.out = io.StringIO()
        self.typist = Typist()
        self.host = host
        i18n.set_language(lang)
        config = ReaderConfig(host_url=url, lang=lang, ins=host.ins, timeout=TIMEOUT)
        client = Client(url)  # short_timeout once logged in
        client.backoff = 0.01
        self.reader = Reader(config, Console(stdin=self.typist, stdout=self.out), client)
        self.mark = 0

    @property
    def text(self) -> str:
        return self.out.getvalue()

    async def until(self, needle: str, timeout: float = 15) -> str:
        """Wait for ``needle`` after the mark; move the mark past it; return what came."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.text.find(needle, self.mark)
            if at >= 0:
                came = self.text[self.mark : at + len(needle)]
                self.mark = at + len(needle)
                return came
            if time.monotonic() > deadline:
                raise AssertionError(f"never came: {needle!r}\n--- output ---\n{self.text}")
            await asyncio.sleep(0.02)

    def type(self, line: str) -> None:
        self.typist.lines.put(line + "\n")

    async def log_in(self, choice: str) -> None:
        await self.until(i18n._("Password (not shown as you type):"))
        self.type(self.host.password)
        await self.until(choice)
        self.type("1")
        await self.until(
            i18n._("One-time code, 6 digits (not shown as you type; Enter alone goes back):")
        )
        self.type(self.host.code())
        await self.until(i18n._("you are logged in."))


def _listed(block: str) -> list[str]:
    return [line for line in block.splitlines() if "Compte rendu" in line or "—" in line]


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(("mode", "name"), TUI_CASES)
def test_reader_says_it_in_words_and_keeps_the_place(
    bad: Any, mode: str, name: str, lang: str
) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        run = ReaderRun(host, url, lang)
        task = asyncio.create_task(run.reader.main())
        try:
            choice = i18n._("Your choice:")
            await run.until(
                i18n._("INS (15 characters). Press Enter to keep {ins}:").format(
                    ins=spoken_ins(host.ins)
                )
            )
            run.type("")
            await run.log_in(choice)
            await run.until(choice)
            run.type("2")
            await run.until(i18n._("Screen:"))
            first = await run.until(choice)
            # Read on to the last page of the first batch (items 41-50 of 50): all loaded.
            page_two: list[str] = []
            for _page in range(BATCH // run.reader.config.page_size - 1):
                run.type("n")
                page_two = _listed(await run.until(choice))
            assert page_two
            short_timeout(run.reader.client)
            wrapper.set(mode, DOCS)
            run.type("n")  # items 51-60: the next batch is asked for, and fails
            came = await run.until(choice, timeout=20)
            wrapper.clear()
            assert _words(name, lang) in came
            assert i18n._("Screen:") not in came  # still on the documents screen
            run.type("")  # Enter alone: the same page read again
            again = _listed(await run.until(choice))
            assert again == page_two
            assert "Traceback" not in run.text and first
            run.type("q")
            await asyncio.wait_for(task, 10)
        finally:
            task.cancel()

    asyncio.run(run())


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_reader_session_ended_logs_in_and_comes_back(bad: Any, lang: str) -> None:
    host, wrapper, url = bad

    async def run() -> None:
        run = ReaderRun(host, url, lang)
        task = asyncio.create_task(run.reader.main())
        try:
            choice = i18n._("Your choice:")
            await run.until(
                i18n._("INS (15 characters). Press Enter to keep {ins}:").format(
                    ins=spoken_ins(host.ins)
                )
            )
            run.type("")
            await run.log_in(choice)
            await run.until(choice)
            run.type("2")
            screen_line = await run.until(choice)
            assert "2 —" in screen_line
            # Read on to the last page of the first batch (items 41-50 of 50): all loaded.
            for _page in range(BATCH // run.reader.config.page_size - 1):
                run.type("n")
                await run.until(choice)
            wrapper.set("expire", DOCS, times=1)
            run.type("n")  # items 51-60: the next batch is asked for; the session has ended
            came = await run.until(
                i18n._("INS (15 characters). Press Enter to keep {ins}:").format(
                    ins=spoken_ins(host.ins)
                )
            )
            assert _words("SessionExpired", lang) in came
            run.type("")
            await run.log_in(choice)
            back = await run.until(choice)
            assert "2 —" in back  # the documents screen again
            assert "Traceback" not in run.text
            run.type("q")
            await asyncio.wait_for(task, 10)
        finally:
            task.cancel()

    asyncio.run(run())
