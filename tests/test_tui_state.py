"""One record state, read by every screen (issue 11): after each action, home (still under the
screen that acted, then shown again) and the action's own screen show its effect, with no
manual refresh; a change made from another session shows on home when it is shown again.
Driven by keys against the real host."""

from __future__ import annotations

import asyncio
import re

from hostkit import LiveHost
from textual.pilot import Pilot
from textual.widgets import Static
from tuikit import goto, login, make_app, settled, status, wait_for

from dmptui.client import Client
from screens.app import DmpApp
from screens.home import HomeScreen


def home(app: DmpApp) -> HomeScreen:
    """Home, wherever it is in the stack (under the screen on view, or on view)."""
    found = [s for s in app.screen_stack if isinstance(s, HomeScreen)]
    assert len(found) == 1
    return found[0]


def summary(app: DmpApp) -> str:
    return str(home(app).query_one("#summary", Static).render())


def counts(app: DmpApp) -> tuple[int, int, int]:
    """(documents, authorised, blocked) as home says them."""
    m = re.search(
        r"Documents: ([\d,]+), authorised practitioners: (\d+), blocked: (\d+)\.", summary(app)
    )
    assert m, summary(app)
    return int(m[1].replace(",", "")), int(m[2]), int(m[3])


def screen_text(app: DmpApp) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(Static))


async def modal(pilot: Pilot, name: str) -> None:
    await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == name)


async def go_on_without_export(pilot: Pilot) -> None:
    """Before closing or erasing, the app offers to export the record first (the first
    button, focused): Tab to "Go on without exporting", Enter."""
    await modal(pilot, "ChoiceScreen")
    await pilot.press("tab", "enter")


async def confirm(pilot: Pilot) -> None:
    """A ConfirmScreen's focus starts on Cancel: back to the confirm button, press it."""
    await modal(pilot, "ConfirmScreen")
    await pilot.press("shift+tab", "enter")


async def give_code(pilot: Pilot, host: LiveHost) -> None:
    await modal(pilot, "CodeScreen")
    await pilot.press(*host.code(), "enter")


async def back_home(pilot: Pilot) -> None:
    """Esc to home: it loads the record again and says so."""
    app = pilot.app
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
    await settled(pilot)
    assert "up to date" in status(app)


async def search_practitioner(pilot: Pilot, text: str) -> None:
    await pilot.press("slash")
    await pilot.press("ctrl+a", "ctrl+k", *text, "enter")
    await settled(pilot)


async def select_practitioner(pilot: Pilot, name: str) -> None:
    app = pilot.app
    app.screen.query_one("#practitioners-table").focus()
    await pilot.press("ctrl+home")
    for _ in range(30):
        row = app.screen.selected()  # type: ignore[attr-defined]
        if row is not None and row.name == name:
            return
        await pilot.press("down")
    raise AssertionError(f"{name} is not in the list")


def test_documents_hidden_and_deleted(host: LiveHost) -> None:
    title = "Bilan de pré-éclampsie"

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 45)) as pilot:
            await login(pilot, host)
            documents, authorised, blocked = counts(app)
            await goto(pilot, "documents")
            await settled(pilot)
            # Hide one: its row says so; home's counts stay.
            await pilot.press("slash", *"sertr", "enter")
            await settled(pilot)
            table = app.screen.query_one("#doc-table")
            await pilot.press("m")
            await settled(pilot)
            assert "is now hidden from practitioners" in status(app)
            assert str(table.get_row_at(0)[3]) == "HIDDEN"  # type: ignore[attr-defined]
            assert counts(app) == (documents, authorised, blocked)
            # Delete one: home, still under this screen, already says one document less.
            await pilot.press("slash", "ctrl+a", "ctrl+k", *"clamp", "enter")
            await settled(pilot)
            await pilot.press("d")
            await confirm(pilot)
            await give_code(pilot, host)
            await wait_for(
                pilot, lambda: f'Done: "{title}" is deleted for everyone.' in status(app)
            )
            await wait_for(pilot, lambda: counts(app)[0] == documents - 1)
            assert app.screen.query_one("#doc-table").row_count == 0
            await back_home(pilot)
            assert counts(app) == (documents - 1, authorised, blocked)
            # Shown again: the deleted document is not in the list.
            await goto(pilot, "documents")
            await settled(pilot)
            assert title not in [d.title for d in app.screen.rows]  # type: ignore[attr-defined]

    asyncio.run(run())


def test_practitioners_granted_revoked_blocked(host: LiveHost) -> None:
    emergency = host.practitioner("emergency")
    name = emergency["name"]

    def row_status(app: DmpApp) -> str:
        table = app.screen.query_one("#practitioners-table")
        return str(table.get_row(emergency["rpps"])[2])  # type: ignore[attr-defined]

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await login(pilot, host)
            documents, authorised, blocked = counts(app)
            await goto(pilot, "practitioners")
            await settled(pilot)
            # Grant: one more authorised, on home and in the list.
            await search_practitioner(pilot, name)
            await select_practitioner(pilot, name)
            await pilot.press("a")
            await modal(pilot, "ChoiceScreen")
            await pilot.press("enter")  # ordinary access, the default
            await settled(pilot)
            assert status(app) == f"Done: {name} can now access your record."
            assert "authorised since" in row_status(app)
            await wait_for(pilot, lambda: counts(app) == (documents, authorised + 1, blocked))
            await pilot.press("escape")  # from the directory to the patient's own list
            assert "authorised since" in row_status(app)
            await back_home(pilot)
            assert counts(app) == (documents, authorised + 1, blocked)
            # Shown again, the practitioners' screen lists them (it reads the same state).
            await goto(pilot, "practitioners")
            await settled(pilot)
            assert "authorised since" in row_status(app)
            # Revoke: back to where it was.
            await select_practitioner(pilot, name)
            await pilot.press("r")
            await settled(pilot)
            assert status(app) == f"Done: {name} can no longer access your record."
            await wait_for(pilot, lambda: counts(app) == (documents, authorised, blocked))
            # Block (from the directory: not in the patient's list any more).
            await search_practitioner(pilot, name)
            await select_practitioner(pilot, name)
            await pilot.press("b")
            await confirm(pilot)
            await settled(pilot)
            assert status(app).startswith(f"Done: {name} is blocked")
            assert "BLOCKED since" in row_status(app)
            await wait_for(pilot, lambda: counts(app) == (documents, authorised, blocked + 1))
            await pilot.press("escape")  # from the directory to the patient's own list
            assert "BLOCKED since" in row_status(app)
            await back_home(pilot)
            assert counts(app) == (documents, authorised, blocked + 1)

    asyncio.run(run())


def test_emergency_choices_refused(host: LiveHost) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            assert "Break-glass emergency access: allowed" in summary(app)
            await goto(pilot, "emergency")
            await settled(pilot)
            await pilot.press("b")
            await confirm(pilot)
            await give_code(pilot, host)
            await wait_for(pilot, lambda: "Done: break-glass access is now refused." in status(app))
            assert "Break-glass access: REFUSED" in screen_text(app)
            await wait_for(pilot, lambda: "Break-glass emergency access: refused" in summary(app))
            assert "Emergency call-centre access: allowed" in summary(app)
            await back_home(pilot)
            assert "Break-glass emergency access: refused" in summary(app)
            # Shown again: the emergency screen says what home says.
            await goto(pilot, "emergency")
            await settled(pilot)
            assert "Break-glass access: REFUSED" in screen_text(app)
            await pilot.press("r")
            await confirm(pilot)
            await give_code(pilot, host)
            await wait_for(pilot, lambda: "call-centre access is now refused" in status(app))
            await wait_for(pilot, lambda: "Emergency call-centre access: refused" in summary(app))
            await back_home(pilot)
            assert "Break-glass emergency access: refused" in summary(app)
            assert "Emergency call-centre access: refused" in summary(app)

    asyncio.run(run())


def test_closed_then_reopened_then_erased(host: LiveHost) -> None:
    async def run() -> None:
        from textual.widgets import Input

        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            assert "Record: open" in summary(app)
            await goto(pilot, "record")
            await settled(pilot)
            await pilot.press("c")
            await go_on_without_export(pilot)
            await confirm(pilot)
            await give_code(pilot, host)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert app.record.record is None  # nothing of the record stays in memory
            # Log in again: home says closed; reopen it, and home (under) says open at once.
            await login(pilot, host)
            assert "Record: closed" in summary(app)
            await goto(pilot, "record")
            await settled(pilot)
            assert "Your record is CLOSED since" in screen_text(app)
            await pilot.press("o")
            await confirm(pilot)
            await wait_for(pilot, lambda: "Done: Your record is open again" in status(app))
            assert "Your record is OPEN" in screen_text(app)
            await wait_for(pilot, lambda: "Record: open" in summary(app))
            await back_home(pilot)
            assert "Record: open" in summary(app) and "closed" not in summary(app)
            # Erase: every session ends, and the state is emptied.
            await goto(pilot, "record")
            await settled(pilot)
            await pilot.press("e")
            await go_on_without_export(pilot)
            await modal(pilot, "TypedConfirmScreen")
            app.screen.query_one("#typed-word", Input).value = "erase"
            await pilot.press("enter")
            await give_code(pilot, host)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert "erased" in status(app)
            assert app.record.record is None and app.record.unread is None
            assert not app.client.logged_in

    asyncio.run(run())


def test_a_change_from_another_session_shows_on_home(host: LiveHost) -> None:
    rpps = host.practitioner("author")["rpps"]

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            assert "Break-glass emergency access: allowed" in summary(app)
            blocked = counts(app)[2]
            async with Client(host.url) as other:
                challenge = await other.login(host.ins, host.password)
                await other.verify(challenge.challenge, host.code())
                await other.record()
                await other.step_up(host.code())
                await other.set_oppositions(True, False)
                await other.practitioners()
                await other.block(rpps)
            # Home, shown again, loads the record as it is now.
            await goto(pilot, "notes")
            await settled(pilot)
            await back_home(pilot)
            assert "Break-glass emergency access: refused" in summary(app)
            assert counts(app)[2] == blocked + 1
            # The screens reading the state show it too.
            await goto(pilot, "emergency")
            await settled(pilot)
            assert "Break-glass access: REFUSED" in screen_text(app)

    asyncio.run(run())
