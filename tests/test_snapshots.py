"""SVG snapshots of every screen, in French and in English (pytest-textual-snapshot).

Deterministic by construction: the demo record is seeded at a fixed moment on a fixed clock, its
TOTP secret (shown on the first-login enrolment) is replaced by a fixed one, and the process
timezone is UTC. Regenerate with ``uv run pytest tests/test_snapshots.py --snapshot-update``."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from hostkit import Clock, LiveHost, copy_key, copy_sqlite, live_host
from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable
from tuikit import goto, make_app, wait_for

from dmptui.host import crypto
from dmptui.host.context import Host
from dmptui.host.db import migrate
from dmptui.host.seed import seed_demo, seed_new_patient

FIXED_NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
FIXED_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
FIXED_ACTIVATION = "ABCD-EFGH-JKLM"
SIZE = (120, 40)

# pytest-textual-snapshot 1.0 names its extension with ``_file_extension``; syrupy 7 reads
# ``file_extension``: without this the snapshots are saved as ``.raw`` files.
pytest_textual_snapshot.SVGImageExtension.file_extension = "svg"

Step = Callable[[Pilot, LiveHost], Awaitable[None]]


@pytest.fixture(scope="module", autouse=True)
def utc() -> Iterator[None]:
    """The app formats local times: make the local zone UTC for these tests."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture(scope="session")  # once per process (pytest-xdist interleaves the modules)
def fixed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The demo record seeded at FIXED_NOW, with a fixed TOTP secret."""
    path = tmp_path_factory.mktemp("snapshot-template") / "demo.sqlite3"
    url = f"sqlite:///{path}"
    migrate(url)
    crypto.ensure_master_key(path.parent)
    host = Host(url, path.parent, clock=Clock(FIXED_NOW))
    creds = seed_demo(host, now=FIXED_NOW)
    from sqlalchemy import delete, select

    from dmptui.host import activation, auth
    from dmptui.host.db import ActivationCode, Record

    with host.tx() as s:  # sealed under the record key, as the host keeps it
        record = s.scalars(select(Record).where(Record.ins == creds["patient"]["ins"])).one()
        record.totp_secret_sealed = crypto.seal_totp(s, record.id, FIXED_SECRET, FIXED_NOW)
    # A first login is an activation: a second record, opened by the pharmacist, not yet
    # activated, with a fixed activation code (the enrolment's secret is fixed in the step).
    creds["new_patient"] = seed_new_patient(host, now=FIXED_NOW)
    with host.tx() as s:
        record = s.scalars(select(Record).where(Record.ins == creds["new_patient"]["ins"])).one()
        s.execute(delete(ActivationCode).where(ActivationCode.record_id == record.id))
        s.add(
            ActivationCode(
                record_id=record.id,
                code_hash=auth.digest(FIXED_ACTIVATION.replace("-", "")),
                created_at=FIXED_NOW,
                expires_at=FIXED_NOW + activation.TTL,
                tries=0,
            )
        )
    host.engine.dispose()
    creds["patient"]["totp_secret"] = FIXED_SECRET
    creds["new_patient"]["activation_code"] = FIXED_ACTIVATION
    return path, creds


@pytest.fixture
def fixed_host(fixed_template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[LiveHost]:
    template, creds = fixed_template
    path = tmp_path / "host.sqlite3"
    copy_sqlite(template, path)
    copy_key(template.parent, tmp_path / "data")
    yield from live_host(f"sqlite:///{path}", path, tmp_path / "data", creds, Clock(FIXED_NOW))


@pytest.fixture(autouse=True)
def app_clock(fixed_host: LiveHost, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app stamps its message log with this computer's clock: make it the host's."""
    import screens.app

    class HostTime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            moment = fixed_host.clock()
            return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    monkeypatch.setattr(screens.app, "datetime", HostTime)


# --- how to reach each screen, by keys ----------------------------------------------------------


async def paste(pilot: Pilot, text: str) -> None:
    """Paste into the focused field, as from a password manager: one event instead of one key
    press per character (typing is covered by the other TUI tests, and costs ~60 ms a key)."""
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


def _quiet(screen: Any) -> bool:
    """Nothing left to measure, lay out or paint on ``screen`` (Textual internals, read only)."""
    for table in screen.query(DataTable):
        if table._require_update_dimensions or table._updated_cells or table._new_rows:
            table.check_idle()  # DataTable measures its columns when idle
            return False
    widgets = [screen, *screen.walk_children()]
    if any(w._layout_required or w._repaint_required or w._scroll_required for w in widgets):
        return False
    return not (screen._dirty_widgets or screen._message_queue.qsize())


async def settle(pilot: Pilot) -> None:
    """Wait until the screen has said something that is not "Please wait" (its status line
    starts with no class at all, before its first call begins). Modals without one: no wait."""
    app = pilot.app

    def said() -> bool:
        status = app.screen.query("#status")
        if not status:
            return True
        classes = status.first().classes
        return any(c.startswith("status-") for c in classes) and "status-wait" not in classes

    await wait_for(pilot, said)


async def drawn(pilot: Pilot) -> None:
    """Settled, then measured, laid out and painted, twice in a row.

    Textual 8's DataTable measures its columns when idle, after its rows are added, but keeps
    the lines it may have drawn in between (at the header widths: "Imm…", "Élodi…") under the
    same cache key. What is on screen then depends on timing; so once the table is measured,
    its line caches are dropped and it is drawn again (a modal pushed next keeps that picture
    of the screen underneath)."""
    app = pilot.app

    async def calm() -> None:
        calm, deadline = 0, time.monotonic() + 10
        while calm < 2:
            assert time.monotonic() < deadline, "the screen never settled"
            await pilot.pause(0.02)  # ends with the screen's pending layout and paint
            calm = calm + 1 if _quiet(app.screen) else 0

    await settle(pilot)
    await calm()
    for table in app.screen.query(DataTable):
        table._clear_caches()
        table.refresh()
    await calm()


def on(pilot: Pilot, name: str) -> Any:
    return lambda: pilot.app.screen.__class__.__name__ == name


async def at_login(pilot: Pilot, host: LiveHost) -> None:
    await wait_for(pilot, on(pilot, "LoginScreen"))


async def at_code_step(pilot: Pilot, host: LiveHost) -> None:
    app = pilot.app
    await at_login(pilot, host)
    await settle(pilot)
    # The INS is pre-filled, so the password field gets the focus.
    await wait_for(pilot, lambda: app.focused is app.screen.query_one("#password"))
    await paste(pilot, host.password)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)


async def at_enrolment(pilot: Pilot, host: LiveHost) -> None:
    """The first login of a record not yet activated: the letter's code typed, the secret and
    its QR code shown (the secret the host draws is fixed here)."""
    from dmptui.host import auth

    app = pilot.app
    new = host.creds["new_patient"]
    await at_login(pilot, host)
    await settle(pilot)
    app.screen.query_one("#ins").value = new["ins"]
    app.screen.query_one("#password").focus()
    await paste(pilot, new["password"])
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.focused is app.screen.query_one("#activation-code"))
    await paste(pilot, new["activation_code"])
    drawn_secret = auth.new_totp_secret
    auth.new_totp_secret = lambda: FIXED_SECRET
    try:
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.focused is app.screen.query_one("#code"))
    finally:
        auth.new_totp_secret = drawn_secret


async def at_home(pilot: Pilot, host: LiveHost) -> None:
    app = pilot.app
    await at_code_step(pilot, host)
    await settle(pilot)
    await wait_for(pilot, lambda: app.focused is app.screen.query_one("#code"))
    await paste(pilot, host.code())
    await pilot.press("enter")
    await wait_for(pilot, on(pilot, "HomeScreen"))


def at_screen(key: str) -> Step:
    async def step(pilot: Pilot, host: LiveHost) -> None:
        await at_home(pilot, host)
        await settle(pilot)
        await goto(pilot, key)

    return step


async def at_trace(pilot: Pilot, host: LiveHost) -> None:
    """The trace, once its seal says the signed trace was checked (not "Checking…")."""
    await at_screen("trace")(pilot, host)
    await wait_for(
        pilot, lambda: "…" not in str(pilot.app.screen.query_one("#trace-seal").render())
    )


async def at_document(pilot: Pilot, host: LiveHost) -> None:
    await at_screen("documents")(pilot, host)
    await settle(pilot)
    await pilot.press("enter")  # the first document (the table has the focus)
    await wait_for(pilot, on(pilot, "DocumentScreen"))


async def at_delete_confirm(pilot: Pilot, host: LiveHost) -> None:
    await at_screen("documents")(pilot, host)
    await drawn(pilot)  # the modal keeps the picture of the screen underneath
    await pilot.press("d")
    await wait_for(pilot, on(pilot, "ConfirmScreen"))


async def at_code(pilot: Pilot, host: LiveHost) -> None:
    app = pilot.app
    await at_delete_confirm(pilot, host)
    await pilot.press("shift+tab")  # from Cancel (the default) to "Delete for everyone"
    assert getattr(app.focused, "id", None) == "confirm"
    await pilot.press("enter")
    await wait_for(pilot, on(pilot, "CodeScreen"))


SCREENS: dict[str, Step] = {
    "login": at_login,
    "login_enrolment": at_enrolment,
    "home": at_home,
    "documents": at_screen("documents"),
    "document_view": at_document,
    "practitioners": at_screen("practitioners"),
    "trace": at_trace,
    "emergency": at_screen("emergency"),
    "record": at_screen("record"),
    "notes": at_screen("notes"),
    "notifications": at_screen("notifications"),
    "help": at_screen("help"),
    "delete_confirm": at_delete_confirm,
    "code_modal": at_code,
}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_snapshot(screen: str, lang: str, fixed_host: LiveHost, snap_compare: Any) -> None:
    app = make_app(fixed_host, lang)

    async def run_before(pilot: Pilot) -> None:
        await SCREENS[screen](pilot, fixed_host)
        await drawn(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


# The main screens again at 80×24, the smallest common terminal: the columns chosen by width, the
# one-line message log, the key bar that fits, the code field at first login, a dialog that fits.
SMALL = (80, 24)
SMALL_SCREENS = ("login_enrolment", "documents", "practitioners", "trace", "delete_confirm")


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("screen", SMALL_SCREENS)
def test_snapshot_80x24(screen: str, lang: str, fixed_host: LiveHost, snap_compare: Any) -> None:
    app = make_app(fixed_host, lang)

    async def run_before(pilot: Pilot) -> None:
        await SCREENS[screen](pilot, fixed_host)
        await drawn(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


# --- a compromised host: hostile values in the documents list and the trace ---------------------


@pytest.mark.parametrize("screen", ["documents", "trace"])
def test_hostile_snapshot(screen: str, fixed_host: LiveHost, snap_compare: Any) -> None:
    """The real host behind ``hostilekit``'s middleware: markup painted literally, escapes,
    bidi overrides, zero-width characters, NUL and C1 controls in visible form, the
    10,000-character word cut with an ellipsis inside its cell."""
    from hostilekit import compromised

    with compromised(fixed_host) as h:
        app = make_app(h, "en")

        async def run_before(pilot: Pilot) -> None:
            await SCREENS[screen](pilot, h)
            if screen == "trace":  # emergency accesses only: their reasons are data too
                await settle(pilot)
                await pilot.press("e")
            await drawn(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
