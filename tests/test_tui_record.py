"""Screens 5 (Emergency access), 6 (My record) and 7 (Personal space), driven by keys against the
real host: the choices and the life of the record change only after reading the consequence,
confirming and typing a fresh code; the notes are saved and practitioners read them."""

from __future__ import annotations

import asyncio

from hostkit import LiveHost
from textual.pilot import Pilot
from tuikit import goto, login, make_app, settled, status, wait_for


def screen_text(app) -> str:
    """Everything the current screen shows in its Static and Label widgets."""
    from textual.widgets import Static

    return "\n".join(str(w.render()) for w in app.screen.query(Static))


def record_row(host: LiveHost) -> tuple:
    return host.sql(
        "SELECT status, refuses_break_glass, refuses_regulation FROM records WHERE ins=:i",
        {"i": host.ins},
    )[0]


def wrong_code(host: LiveHost) -> str:
    """Six digits that are not a valid code around the host's clock."""
    valid = {host.totp.at(host.clock(), counter_offset=k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


async def modal(pilot: Pilot, name: str) -> None:
    await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == name)


async def go_on_without_export(pilot: Pilot) -> None:
    """Before closing or erasing, the app offers to export the record first (the first
    button, focused): Tab to "Go on without exporting", Enter."""
    await modal(pilot, "ChoiceScreen")
    await pilot.press("tab", "enter")


async def confirm(pilot: Pilot) -> None:
    """On a ConfirmScreen the focus starts on Cancel: go back to the confirm button, press it."""
    await modal(pilot, "ConfirmScreen")
    await pilot.press("shift+tab", "enter")


async def cancel(pilot: Pilot) -> None:
    """Cancel a ConfirmScreen by keys: the focus starts on its Cancel button."""
    await modal(pilot, "ConfirmScreen")
    await pilot.press("enter")


async def cancel_code(pilot: Pilot) -> None:
    """Cancel a CodeScreen by keys: Tab from the code past Confirm and SMS to Cancel."""
    await modal(pilot, "CodeScreen")
    await pilot.press("tab", "tab", "tab", "enter")


async def give_code(pilot: Pilot, code: str) -> None:
    await modal(pilot, "CodeScreen")
    await pilot.press(*code, "enter")


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])


def traced_reason(host: LiveHost) -> str:
    """The reason of the patient's last trace entry: the real one, which a practitioner
    without a right is not told (they get no_access)."""
    rows = host.sql(
        "SELECT t.reason FROM trace_entries t JOIN records r ON r.id = t.record_id "
        "WHERE r.ins = :ins ORDER BY t.seq DESC LIMIT 1",
        {"ins": host.ins},
    )
    return str(rows[0][0])


def ps_mode(host: LiveHost, role: str, mode: str) -> tuple[int, str | None]:
    with host.ps(role) as c:
        r = c.get(
            f"/v1/ps/records/{host.ins}/documents",
            params={"mode": mode, "reason": "Patient inconscient"},
        )
    return r.status_code, r.json().get("reason") if r.status_code != 200 else None


# --- screen 5 --------------------------------------------------------------------------------


def test_refusing_break_glass_keeps_the_call_centre(host: LiveHost) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "emergency")
            await settled(pilot)
            shown = screen_text(app)
            assert "Break-glass access: ALLOWED" in shown
            assert "Emergency call-centre access (SAMU, centre 15): ALLOWED" in shown
            await pilot.press("b")
            await modal(pilot, "ConfirmScreen")
            assert "If you refuse break-glass access" in screen_text(app)
            await confirm(pilot)
            await give_code(pilot, host.code())
            await wait_for(pilot, lambda: "Done: break-glass access is now refused." in status(app))
            assert "Break-glass access: REFUSED" in screen_text(app)
            assert "Emergency call-centre access (SAMU, centre 15): ALLOWED" in screen_text(app)
            assert any("break-glass access is now refused" in m.text for m in app.state.messages)
        assert record_row(host) == ("active", 1, 0)
        # The emergency doctor has no right to the record: told no_access, the trace says why.
        assert ps_mode(host, "emergency", "break-glass") == (403, "no_access")
        assert traced_reason(host) == "break_glass_refused"
        assert ps_mode(host, "regulation", "regulation") == (200, None)

    asyncio.run(run())


def test_cancel_and_a_wrong_code_change_nothing(host: LiveHost) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "emergency")
            await settled(pilot)
            # Cancel at the consequence.
            await pilot.press("r")
            await modal(pilot, "ConfirmScreen")
            assert "If you refuse emergency call-centre access" in screen_text(app)
            await cancel(pilot)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "EmergencyScreen")
            assert "Nothing was changed: emergency call-centre access is still allowed." in (
                status(app)
            )
            # A wrong code: explained, then cancelled.
            await pilot.press("r")
            await confirm(pilot)
            await give_code(pilot, wrong_code(host))
            await wait_for(pilot, lambda: "wrong, expired or already used" in status(app))
            assert app.screen.__class__.__name__ == "CodeScreen"
            await cancel_code(pilot)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "EmergencyScreen")
            assert "still allowed" in status(app)
            assert "Emergency call-centre access (SAMU, centre 15): ALLOWED" in screen_text(app)
        assert record_row(host) == ("active", 0, 0)
        assert ps_mode(host, "regulation", "regulation") == (200, None)

    asyncio.run(run())


def test_a_choice_changed_elsewhere_meanwhile_is_reloaded_not_overwritten(host: LiveHost) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "emergency")
            await settled(pilot)
            assert "call-centre access (SAMU, centre 15): ALLOWED" in screen_text(app)
            # Meanwhile, another session of the patient refuses the call centre.
            with host.login() as other:
                host.step_up(other)
                r = other.put(
                    "/v1/record/oppositions", json={"break_glass": False, "regulation": True}
                )
                assert r.status_code == 200, r.text
            await pilot.press("b")
            await confirm(pilot)
            await give_code(pilot, host.code())
            await wait_for(pilot, lambda: "changed elsewhere" in status(app))
            assert "It has been reloaded: check it, then try again." in status(app)
            shown = screen_text(app)
            assert "Break-glass access: ALLOWED" in shown  # not changed
            assert "call-centre access (SAMU, centre 15): REFUSED" in shown  # the other's choice
            assert any("changed elsewhere" in m.text for m in app.state.messages)
        assert record_row(host) == ("active", 0, 1)

    asyncio.run(run())


# --- screen 7 --------------------------------------------------------------------------------


def test_notes_saved_elsewhere_meanwhile_keep_what_was_typed(host: LiveHost) -> None:
    async def run() -> None:
        from textual.widgets import TextArea

        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "notes")
            await settled(pilot)
            area = app.screen.query_one("#notes-text", TextArea)
            await type_text(pilot, " mine")
            mine = area.text
            with host.login() as other:
                assert other.put("/v1/record/notes", json={"text": "theirs"}).status_code == 200
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "were changed elsewhere" in status(app))
            assert area.text == mine and "UNSAVED CHANGES" in screen_text(app)
            assert host.notes() == "theirs"
            await pilot.press("ctrl+s")  # checked: save mine over it
            await wait_for(pilot, lambda: "Done: your notes are saved." in status(app))
        assert host.notes() == mine

    asyncio.run(run())


def test_notes_are_saved_and_read_by_an_authorised_practitioner(host: LiveHost) -> None:
    async def run() -> None:
        from textual.widgets import TextArea

        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "notes")
            await settled(pilot)
            area = app.screen.query_one("#notes-text", TextArea)
            assert app.focused is area and not area.read_only
            before = area.text
            # Digits typed in the box are text, not screen jumps.
            await type_text(pilot, " Contact 2 Marie 0612")
            assert app.screen.__class__.__name__ == "NotesScreen"
            assert "UNSAVED CHANGES" in screen_text(app)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "Done: your notes are saved." in status(app))
            assert "UNSAVED" not in screen_text(app)
            assert "last saved" in screen_text(app)
            saved = area.text
            assert saved == before + " Contact 2 Marie 0612"
            # Tab leaves the box (no keyboard trap).
            await pilot.press("tab")
            assert app.focused is not area
            # An unsaved change: Esc asks first; Cancel stays, the text is kept.
            area.focus()
            await type_text(pilot, " x")
            await pilot.press("escape")
            await modal(pilot, "ConfirmScreen")
            assert "not saved" in screen_text(app)
            await cancel(pilot)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "NotesScreen")
            assert area.text == saved + " x"
            # A digit, once out of the box, also asks; confirm leaves without saving.
            await pilot.press("tab")
            await pilot.press("4")
            await confirm(pilot)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TraceScreen")
        assert host.notes() == saved
        with host.ps("authorised") as c:
            r = c.get(f"/v1/ps/records/{host.ins}/notes")
        assert r.status_code == 200 and r.json()["text"] == saved

    asyncio.run(run())


def test_log_out_and_quit_ask_first_when_notes_are_unsaved(host: LiveHost) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "notes")
            await settled(pilot)
            await type_text(pilot, " y")
            for key in ("ctrl+q", "ctrl+l"):
                await pilot.press(key)
                await modal(pilot, "ConfirmScreen")
                assert "not saved" in screen_text(app)
                await cancel(pilot)
                await wait_for(pilot, lambda: app.screen.__class__.__name__ == "NotesScreen")
                assert app.client.logged_in and app.is_running
                assert app.screen.area.text.endswith(" y")
            await pilot.press("ctrl+l")
            await confirm(pilot)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert not app.client.logged_in

    asyncio.run(run())


def test_saving_notes_after_the_session_ended(host: LiveHost) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "notes")
            await settled(pilot)
            await type_text(pilot, " late")
            host.clock.advance(minutes=16)
            host.sql("UPDATE sessions SET revoked_at=created_at")  # refresh refused too
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            app.screen.query_one("#password").focus()
            await pilot.press(*host.password, "enter")
            await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
            await pilot.press(*host.code(), "enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "NotesScreen")
            await wait_for(pilot, lambda: "Done: your notes are saved." in status(app))
        assert host.notes().endswith(" late")

    asyncio.run(run())


# --- screen 6 --------------------------------------------------------------------------------


def test_close_then_log_in_and_reopen(host: LiveHost) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "record")
            await settled(pilot)
            assert "Your record is OPEN" in screen_text(app)
            # Cancel first: nothing changes.
            await pilot.press("c")
            await go_on_without_export(pilot)
            await modal(pilot, "ConfirmScreen")
            assert "kept for 10 years" in screen_text(app)
            await cancel(pilot)
            await wait_for(pilot, lambda: "still open" in status(app))
            assert record_row(host)[0] == "active"
            # Close for real.
            await pilot.press("c")
            await go_on_without_export(pilot)
            await confirm(pilot)
            await give_code(pilot, host.code())
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert "Your record is closed: nobody can access it any more" in status(app)
            assert not app.client.logged_in
            assert record_row(host)[0] == "closed"
            assert (
                host.sql(
                    "SELECT count(*) FROM sessions s JOIN records r ON "
                    "r.id=s.record_id WHERE r.ins=:i AND s.revoked_at IS NULL",
                    {"i": host.ins},
                )[0][0]
                == 0
            )
            # Log in again: the record says it is closed; reopen it.
            await login(pilot, host)
            assert "closed" in screen_text(app)
            await goto(pilot, "record")
            await settled(pilot)
            shown = screen_text(app)
            assert "Your record is CLOSED since" in shown and "It is kept until" in shown
            await pilot.press("o")
            await modal(pilot, "ConfirmScreen")
            assert "open again" in screen_text(app)
            await confirm(pilot)
            await wait_for(pilot, lambda: "Done: Your record is open again" in status(app))
            assert "Your record is OPEN" in screen_text(app)
        assert record_row(host)[0] == "active"

    asyncio.run(run())


def test_erase_in_french_needs_the_typed_word_and_a_code(host: LiveHost) -> None:
    async def run() -> None:
        from textual.widgets import Input

        app = make_app(host, "fr")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "emergency")
            await settled(pilot)
            assert "Accès en bris de glace : ACCEPTÉ" in screen_text(app)
            await goto(pilot, "record")
            await settled(pilot)
            assert "Votre dossier est OUVERT" in screen_text(app)
            assert "Effacer définitivement mon dossier" in screen_text(app)
            # Cancel: nothing is erased.
            await pilot.press("e")
            await go_on_without_export(pilot)
            await modal(pilot, "TypedConfirmScreen")
            await pilot.press("escape")
            await wait_for(pilot, lambda: "toujours ouvert" in status(app))
            # The wrong word is refused, in words.
            await pilot.press("e")
            await go_on_without_export(pilot)
            await modal(pilot, "TypedConfirmScreen")
            assert "« effacer »" in screen_text(app)
            await type_text(pilot, "erase")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "pas « effacer »" in status(app))
            assert app.screen.__class__.__name__ == "TypedConfirmScreen"
            app.screen.query_one("#typed-word", Input).value = ""
            await type_text(pilot, "effacer")
            await pilot.press("enter")
            await give_code(pilot, host.code())
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert "Votre dossier est effacé définitivement" in status(app)
        assert record_row(host)[0] == "erased"
        assert (
            host.sql(
                "SELECT count(*) FROM documents d JOIN records r ON r.id=d.record_id "
                "WHERE r.ins=:i",
                {"i": host.ins},
            )[0][0]
            == 0
        )

    asyncio.run(run())


def test_export_from_my_record_with_a_progress_bar_and_a_code(
    host: LiveHost, tmp_path, monkeypatch
) -> None:
    """x on My record: the file's name (filled in), the question, a fresh code once the
    login's own freshness is over, a progress bar while it comes, then the archive written
    for the patient alone and checked; the trace says the patient exported the record."""
    from textual.widgets import Input, ProgressBar

    from dmptui import export_check

    monkeypatch.setenv("DMPTUI_SAVE_DIR", str(tmp_path))

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "record")
            await settled(pilot)
            assert "Press x — Export my whole record" in screen_text(app)
            host.clock.advance(minutes=6)  # the login no longer counts as a fresh code
            bar = app.screen.query_one("#export-progress", ProgressBar)
            assert not bar.display
            await pilot.press("x")
            await modal(pilot, "ExportPathScreen")
            field = app.screen.query_one("#export-path", Input)
            assert field.value.startswith(str(tmp_path / "dmp-export-"))
            field.value = str(tmp_path / "mine.zip")
            await pilot.press("enter")
            await confirm(pilot)
            await give_code(pilot, host.code())
            await wait_for(pilot, lambda: "Done: Your record is exported to" in status(app), 30)
            # The bar moved with the bytes, against the host's estimate of the total.
            assert bar.total is not None and 0 < (bar.progress or 0) <= bar.total
            assert not bar.display  # gone once done

    asyncio.run(run())
    archive = tmp_path / "mine.zip"
    assert archive.stat().st_mode & 0o777 == 0o600
    assert export_check.verify(archive).ok
    assert (
        host.sql(
            "SELECT count(*) FROM trace_entries t JOIN records r ON r.id = t.record_id "
            "WHERE r.ins = :i AND t.action = 'record.export' AND t.outcome = 'allowed'",
            {"i": host.ins},
        )[0][0]
        == 1
    )
