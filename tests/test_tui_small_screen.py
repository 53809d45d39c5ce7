"""Small terminals and fast typing: every screen's key facts at 80×24, columns chosen by width,
the "enlarge the terminal" line below the smallest size, and keys typed in one burst (a password
manager's auto-type) landing in the right fields. The real app against the real host."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import activationkit
import pyotp
from hostkit import LiveHost
from textual import events
from textual.pilot import Pilot
from tuikit import wait_for

import screens.app
from dmptui import i18n
from screens.app import AppConfig, DmpApp


def run(coro: Any) -> None:
    asyncio.run(coro)


def bare_app(host: LiveHost, cls: type[DmpApp] = DmpApp) -> DmpApp:
    """The app with nothing pre-filled: the person types the INS too."""
    i18n.set_language("en")
    return cls(AppConfig(host_url=host.url, lang="en", data_dir=host.data_dir.parent / "app"))


def burst(host: LiveHost) -> list[events.Key]:
    """INS, Tab, password, Enter, as key events (what an auto-type sends)."""
    keys = [events.Key(ch, ch) for ch in host.ins]
    keys.append(events.Key("tab", None))
    keys += [events.Key(ch, ch) for ch in host.password]
    keys.append(events.Key("enter", "\r"))
    return keys


async def password_accepted(pilot: Pilot) -> None:
    """The host accepted INS and password: the code step is on view; nothing said was an
    error (a password typed into the INS field makes an INS error)."""
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
    assert not app.screen.query_one("#status").has_class("status-error")
    # Textual moves the focus on its next turn (``Widget.focus`` is deferred): wait for it.
    await wait_for(pilot, lambda: app.focused is app.screen.query_one("#code"), timeout=2)


def test_auto_type_burst_posted_at_once_lands_in_the_right_fields(host: LiveHost) -> None:
    async def go() -> None:
        app = bare_app(host)
        async with app.run_test(size=(80, 24)) as pilot:
            for key in burst(host):  # all queued before the first is handled
                app.post_message(key)
            await password_accepted(pilot)

    run(go())


def test_auto_type_burst_while_the_login_screen_is_still_mounting(host: LiveHost) -> None:
    class Early(DmpApp):
        CSS_PATH = Path(screens.app.__file__).with_name("dmptui.tcss")

        def on_mount(self) -> None:
            super().on_mount()  # pushes the login screen; it is not mounted yet
            for key in burst(host):
                self.post_message(key)

    async def go() -> None:
        app = bare_app(host, Early)
        async with app.run_test(size=(80, 24)) as pilot:
            await password_accepted(pilot)

    run(go())


def test_auto_type_with_pilot_press_and_no_pauses(host: LiveHost) -> None:
    async def go() -> None:
        app = bare_app(host)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*host.ins, "tab", *host.password, "enter")
            await password_accepted(pilot)

    run(go())


# --- every screen's key facts at 80×24 -----------------------------------------------------------


def on_view(app: DmpApp, widget: Any) -> bool:
    """``widget`` is what the terminal shows at the middle of its region (nothing covers it,
    no scrolling hides it)."""
    region = widget.region
    if not region.area:
        return False
    screen_region = app.screen.region
    if not screen_region.contains_region(region):
        return False
    x, y = region.center
    found, _offset = app.screen.get_widget_at(x, y)
    return found is widget or widget in found.ancestors


def rows_on_view(table: Any) -> int:
    """Rows of a list on view under its heading (its height, less the heading line)."""
    return min(table.row_count, table.scrollable_content_region.height - 1)


def row_text(table: Any) -> str:
    """The first row of a list as drawn (under its heading)."""
    return table.render_line(1).text


def shown_keys(table: Any) -> list[str]:
    return [c.key for c in table.shown_columns]


async def drawn(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.pause()


def test_key_facts_at_80x24_and_columns_chosen_again_on_resize(host: LiveHost) -> None:
    from tuikit import goto, login, settled

    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(80, 24)) as pilot:
            await login(pilot, host)
            # Trace: when, who, what, outcome; the mode goes first (the detail panel says it).
            await goto(pilot, "trace")
            await settled(pilot)
            table = app.screen.query_one("#trace-table")
            await wait_for(pilot, lambda: table.row_count > 0)
            await drawn(pilot)
            assert shown_keys(table) == ["when", "who", "what", "outcome"]
            assert table.virtual_size.width <= table.scrollable_content_region.width
            assert rows_on_view(table) >= 5
            # Wider: the mode and the details come back; narrower again: they go.
            await pilot.resize_terminal(120, 40)
            await drawn(pilot)
            assert shown_keys(table) == ["when", "who", "what", "mode", "outcome", "details"]
            await pilot.resize_terminal(80, 24)
            await drawn(pilot)
            assert "mode" not in shown_keys(table) and "outcome" in shown_keys(table)
            # Without the mode column, an emergency access still says so in words on its row.
            await pilot.press("e")  # emergency accesses only
            await wait_for(pilot, lambda: table.row_count > 0 and "EMERGENCY" in row_text(table))
            line = row_text(table)
            assert "EMERGENCY" in line and line.rstrip().endswith(("allowed", "denied"))
            await pilot.press("e", "e")  # back to every mode (the filter cycles)
            await settled(pilot)

            # Documents: date, title, hidden or not.
            await goto(pilot, "documents")
            await settled(pilot)
            docs = app.screen.query_one("#doc-table")
            await wait_for(pilot, lambda: docs.row_count > 0)
            await drawn(pilot)
            assert {"date", "title", "visibility"} <= set(shown_keys(docs))
            assert docs.virtual_size.width <= docs.scrollable_content_region.width
            assert rows_on_view(docs) >= 5

            # A dialog fits the terminal, with room around it.
            await pilot.press("d")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
            await drawn(pilot)
            dialog = app.screen.query_one("#dialog")
            assert app.screen.region.contains_region(dialog.region)
            assert dialog.region.width <= 76
            assert on_view(app, app.screen.query_one("#cancel"))
            await pilot.press("escape")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "DocumentsScreen")

            # Practitioners: name and status, with their rows.
            await goto(pilot, "practitioners")
            await settled(pilot)
            people = app.screen.query_one("#practitioners-table")
            await wait_for(pilot, lambda: people.row_count > 0)
            await drawn(pilot)
            width = people.scrollable_content_region.width
            before_status = 0
            for column in people.ordered_columns:
                if column.key.value == "status":
                    break
                before_status += column.get_render_width(people)
            assert before_status + 12 <= width  # the status starts well inside the table
            assert rows_on_view(people) >= 3

            # Notifications: every column within the list (the message wraps in its cell).
            await goto(pilot, "notifications")
            await settled(pilot)
            notes = app.screen.query_one("#notifications-table")
            await wait_for(pilot, lambda: notes.row_count > 0)
            await drawn(pilot)
            widths = sum(c.get_render_width(notes) for c in notes.ordered_columns)
            assert widths <= notes.scrollable_content_region.width
            await pilot.resize_terminal(120, 40)
            await drawn(pilot)
            wide = sum(c.get_render_width(notes) for c in notes.ordered_columns)
            assert widths < wide <= notes.scrollable_content_region.width
            await pilot.resize_terminal(80, 24)
            await drawn(pilot)

            # The message log takes one line of text on a short terminal, five on a tall one.
            log = app.screen.query_one("#message-log")
            assert log.scrollable_content_region.height == 1
            await pilot.resize_terminal(120, 40)
            await drawn(pilot)
            assert log.scrollable_content_region.height == 5
            await pilot.resize_terminal(80, 24)

    run(go())


def test_key_bar_fits_the_width_and_keeps_help(host: LiveHost) -> None:
    from textual.widgets._footer import FooterKey
    from tuikit import goto, login, settled

    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "documents")
            await settled(pilot)
            for width in (120, 80):
                await pilot.resize_terminal(width, 40)
                await drawn(pilot)
                await wait_for(pilot, lambda: bool(app.screen.query(FooterKey)))
                keys = list(app.screen.query(FooterKey))
                assert keys[-1].region.right <= width  # no key cut at the edge
                words = [f"{k.key_display} {k.description}" for k in keys]
                assert any(w.startswith("F1 Help") for w in words), words
            # At 80 columns some keys were left out: F1 says the help has all of them.
            assert "F1 Help, all keys" in words

    run(go())


def make_app(host: LiveHost, lang: str) -> DmpApp:
    from tuikit import make_app as made

    return made(host, lang)


# --- first login: the code field in view, the QR code beside it or on demand ---------------------


def test_first_login_at_80x24_keeps_the_code_field_in_view(host: LiveHost) -> None:
    # A first login is an activation now: a record opened by the pharmacist, the letter's code.
    password, activation_code = activationkit.opened(host)

    async def go() -> None:
        app = activationkit.make_app(host, "en")
        async with app.run_test(size=(80, 24)) as pilot:
            login = app.screen
            await activationkit.to_enrolment(pilot, password, activation_code)
            await drawn(pilot)
            code = login.query_one("#code")
            assert app.focused is code and on_view(app, code)
            secret = activationkit.secret_of(host)
            assert secret and secret in str(login.query_one("#enrolment").render())
            assert not login.query_one("#qr").display  # no room beside: on demand
            assert on_view(app, login.query_one("#show-qr"))
            # F4: the QR code on a screen of its own, whole; Esc: back to the code field.
            await pilot.press("f4")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "QrScreen")
            await drawn(pilot)
            view = app.screen.query_one("#qr-view")
            assert app.screen.region.contains_region(view.region)
            assert view.region.height == len(login.qr.splitlines())
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is login)
            await wait_for(pilot, lambda: app.focused is code, timeout=2)  # focus: next turn
            host.clock.advance(seconds=30)
            await pilot.press(*pyotp.TOTP(secret).at(host.clock()), "enter")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen")

    run(go())


def test_first_login_on_a_large_terminal_shows_the_qr_beside_the_code(host: LiveHost) -> None:
    password, activation_code = activationkit.opened(host)

    async def go() -> None:
        app = activationkit.make_app(host, "fr")
        async with app.run_test(size=(120, 40)) as pilot:
            login = app.screen
            await activationkit.to_enrolment(pilot, password, activation_code)
            await drawn(pilot)
            qr, code = login.query_one("#qr"), login.query_one("#code")
            assert on_view(app, code) and on_view(app, qr)
            assert app.screen.region.contains_region(qr.region)
            assert qr.region.x >= code.region.right  # beside, not below
            assert not login.query_one("#show-qr").display

    run(go())


# --- below the smallest size: one line that says the size needed ---------------------------------


def test_too_small_terminal_says_the_size_needed_then_comes_back(host: LiveHost) -> None:
    from tuikit import goto, login, settled

    from screens.widgets.too_small import MIN_HEIGHT, MIN_WIDTH

    async def go() -> None:
        app = make_app(host, "fr")
        async with app.run_test(size=(80, 24)) as pilot:
            await login(pilot, host)
            await goto(pilot, "trace")
            await settled(pilot)
            table = app.screen.query_one("#trace-table")
            too_small = app.screen.query_one("#too-small")
            assert not too_small.display
            await pilot.resize_terminal(60, 20)
            await drawn(pilot)
            assert too_small.display and on_view(app, too_small)
            words = str(too_small.render())
            assert "trop petit" in words and "60×20" in words
            assert f"{MIN_WIDTH} colonnes sur {MIN_HEIGHT} lignes" in words
            assert not on_view(app, table)  # covered, not emptied
            assert app.focused is table  # the focus stays where it was
            await pilot.resize_terminal(MIN_WIDTH, MIN_HEIGHT)
            await drawn(pilot)
            assert not too_small.display and on_view(app, table)
            assert rows_on_view(table) >= 3

    run(go())


def test_size_classes_set_before_the_first_resize_are_textuals() -> None:
    """The size classes a screen gets as it is pushed (``screens.first_show``) are those
    Textual's own resize sets, at every size around the breakpoints: else the first paint would
    use the wrong layout until the resize, then restyle."""
    from textual.geometry import Size
    from textual.screen import Screen

    from screens.first_show import size_classes

    horizontal, vertical = DmpApp.HORIZONTAL_BREAKPOINTS, DmpApp.VERTICAL_BREAKPOINTS
    screen = Screen()
    seen = set()
    for width in range(0, 130):
        for height in range(0, 50):
            ours = size_classes(Size(width, height), horizontal, vertical)
            textuals = screen._get_breakpoint_classes(width, horizontal)
            textuals |= screen._get_breakpoint_classes(height, vertical)
            assert ours == textuals, (width, height)
            seen.add(frozenset(ours))
    assert len(seen) == len(horizontal) * len(vertical)


def test_login_screen_first_shown_with_its_size_classes(host: LiveHost) -> None:
    """At 80×24 and 120×40, the login screen has its size classes once the app is running,
    without waiting for a resize; and a resize still changes them."""

    async def go() -> None:
        app = bare_app(host)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert {"-w-small", "-h-small"} <= set(app.screen.classes)
            await pilot.resize_terminal(120, 40)
            await pilot.pause()
            assert {"-w-wide", "-h-tall"} <= set(app.screen.classes)
            assert not {"-w-small", "-h-small"} & set(app.screen.classes)

    run(go())
