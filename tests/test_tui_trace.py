"""Screens 4 (access trace) and 8 (notifications), driven by keys against the real host."""

from __future__ import annotations

import asyncio

from tuikit import goto, login, make_app, settled, status, wait_for

from dmptui import i18n
from dmptui.host.demo_data import DEMO_PAST_BREAK_GLASS

REASON_START = DEMO_PAST_BREAK_GLASS["reason"][:40]


def rows(app) -> list[list[str]]:
    """The table's cells, as the words on the screen."""
    from textual.widgets import DataTable

    from screens.widgets.paged_list import PagedList

    found = app.screen.query(PagedList)  # the trace; the notifications are a DataTable
    table = found.first() if found else app.screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def column(app, index: int) -> list[str]:
    return [r[index] for r in rows(app)]


async def open_trace(pilot, host) -> None:
    await login(pilot, host)
    await goto(pilot, "trace")
    await settled(pilot)


def test_trace_shows_emergency_in_words_and_filters_by_mode(host):
    async def run():
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_trace(pilot, host)
            assert status(app) == (
                "Access trace: 50 entries loaded, newest first; more load as you scroll."
            )
            table = rows(app)
            assert len(table) == 50
            emergency = [r for r in table if "EMERGENCY — break-glass" in r[3]]
            assert len(emergency) == 1
            who, what, outcome, details = (
                emergency[0][1],
                emergency[0][2],
                emergency[0][4],
                emergency[0][5],
            )
            assert "Julien Mercier (doctor," in who
            assert what == "listed your documents"
            assert outcome == "allowed"
            assert details.startswith("Reason given: " + REASON_START)
            assert table[0][1] == "you" and table[0][2] == "read the access trace"

            # 'e' cycles: break-glass only, then regulation only, then everything.
            await pilot.press("e")
            await settled(pilot)
            assert "Filter: break-glass accesses only." in status(app)
            assert "Access trace: 1 entry shown, newest first; there are no more." in status(app)
            assert column(app, 3) == ["EMERGENCY — break-glass"]
            detail = str(app.screen.query_one("#trace-detail").render())
            assert "RPPS " + host.practitioner("emergency")["rpps"] in detail
            assert REASON_START in detail
            await pilot.press("e")
            await settled(pilot)
            assert "call-centre (regulation) accesses only" in status(app)
            assert "No entry matches this filter." in status(app)
            assert rows(app) == []
            await pilot.press("e")
            await settled(pilot)
            assert status(app).startswith("Access trace: 50 entries loaded")

    asyncio.run(run())


def test_trace_filter_by_practitioner_and_a_new_access(host):
    emergency_rpps = host.practitioner("emergency")["rpps"]

    async def run():
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_trace(pilot, host)
            await pilot.press("f")
            assert app.focused is not None and app.focused.id == "trace-actor"
            await pilot.press(*emergency_rpps, "enter")
            await settled(pilot)
            shown = rows(app)
            assert len(shown) == 1 and "Julien Mercier" in shown[0][1]
            assert f"practitioner “{emergency_rpps}”" in status(app)

            # Part of a name works too (and "e" or "f" typed there are letters, not keys).
            await pilot.press("f")
            await pilot.press("end", "ctrl+u", *"mercier f", "backspace", "backspace", "enter")
            await settled(pilot)
            assert app.screen.filter.actor == "mercier"
            assert [r[1].split(" (")[0] for r in rows(app)] == ["Julien Mercier"]

            # A bad RPPS is refused on the screen; nothing is sent.
            before = host.trace_size()
            await pilot.press("f")
            await pilot.press("end", "ctrl+u", *"12345678901", "enter")
            assert status(app).startswith("Error: Practitioner: an RPPS number has 11 digits")
            assert host.trace_size() == before

            # Days: a wrong day is refused; from today shows only this session's entries.
            await pilot.press("end", "ctrl+u", "tab", "tab")
            assert app.focused.id == "trace-since"
            await pilot.press(*"2026-13-01", "enter")
            assert status(app).startswith("Error: From: write the day as YYYY-MM-DD")
            # Days are Paris days, as every date the app shows, whatever this machine's zone.
            today = i18n.paris_date(host.clock())
            await pilot.press("end", "ctrl+u", *today.isoformat(), "enter")
            await settled(pilot)
            assert f"Filter: from {i18n.format_date(today)}." in status(app)
            entries = list(app.screen.entries.values())
            assert entries and all(i18n.paris_date(e.at) == today for e in entries)
            assert {r[1] for r in rows(app)} == {"you"}

            # Esc closes the bar and stays on the screen; "Show everything" is one button away.
            await pilot.press("f")
            await pilot.press("escape")
            assert app.screen.SCREEN_KEY == "trace"
            assert not app.screen.query_one("#trace-filterbar").display
            await pilot.press("f")
            await pilot.click("#trace-clear")
            await settled(pilot)
            assert status(app).startswith("Access trace: 50 entries loaded")

            # A practitioner reads the record; the trace shows it once reloaded.
            author = host.practitioner("author")
            with host.ps("author") as ps:
                r = ps.get(f"/v1/ps/records/{host.ins}/documents")
                assert r.status_code == 200, r.text
            await goto(pilot, "home")
            await settled(pilot)
            await goto(pilot, "trace")
            await settled(pilot)
            first_practitioner = next(r for r in rows(app) if r[1] != "you")
            assert first_practitioner[1].startswith(author["name"] + " (doctor, ")
            assert first_practitioner[2] == "listed your documents"
            assert first_practitioner[3] == "normal"
            assert first_practitioner[4] == "allowed"

    asyncio.run(run())


def test_trace_pages_load_as_the_cursor_nears_the_end(host):
    with host.ps("author") as ps:
        for _ in range(60):
            assert ps.get(f"/v1/ps/records/{host.ins}/documents").status_code == 200

    async def run():
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_trace(pilot, host)
            assert len(rows(app)) == 50
            await pilot.press("ctrl+end")
            await wait_for(pilot, lambda: len(rows(app)) > 50)
            await settled(pilot)
            assert len(rows(app)) == 100
            assert status(app) == (
                "Access trace: 100 entries loaded, newest first; more load as you scroll."
            )
            # Newest first, no entry twice.
            seqs = [int(k) for k in app.screen.query_one("#trace-table").keys()]
            assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 100

    asyncio.run(run())


def test_trace_in_french(host):
    async def run():
        app = make_app(host, "fr")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_trace(pilot, host)
            assert status(app) == (
                "Traces d'accès : 50 entrées chargées, les plus récentes "
                "d'abord ; la suite se charge en descendant."
            )
            emergency = [r for r in rows(app) if "URGENCE — bris de glace" in r[3]]
            assert len(emergency) == 1
            assert emergency[0][2] == "consultation de la liste de vos documents"
            assert "(médecin," in emergency[0][1]
            assert emergency[0][5].startswith("Motif donné : " + REASON_START)
            await goto(pilot, "notifications")
            await settled(pilot)
            assert column(app, 2)[0] == "ACCÈS D'URGENCE"
            assert "NON LUE" in column(app, 1)

    asyncio.run(run())


def test_trace_session_expiry_then_resume_on_the_same_screen(host):
    async def run():
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_trace(pilot, host)

            async def log_in_again() -> None:
                await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
                app.screen.query_one("#password").focus()
                await pilot.press(*host.password, "enter")
                await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
                await pilot.press(*host.code(), "enter")
                await wait_for(pilot, lambda: getattr(app.screen, "SCREEN_KEY", "") == "trace")
                await settled(pilot)

            # Idle for 14 minutes: the session is still live, the filter applies at once.
            host.clock.advance(minutes=14)
            await pilot.press("e")
            await settled(pilot)
            assert app.screen.SCREEN_KEY == "trace"
            assert column(app, 3) == ["EMERGENCY — break-glass"]
            # Idle for 16 minutes: the refresh is refused (idle) and the session ends: log in
            # again, then back here with the filter asked for.
            host.clock.advance(minutes=16)
            await pilot.press("e")  # regulation only: the call meets an idle session
            await log_in_again()
            assert "Filter: call-centre (regulation) accesses only." in status(app)
            assert app.screen.query_one("#trace-mode").value == "regulation"
            # Past the 12-hour limit the session is over: log in again, then back here.
            host.clock.advance(hours=13)
            await pilot.press("e")  # back to all accesses: the call meets an ended session
            await log_in_again()
            assert app.screen.query_one("#trace-mode").value == "all"
            await pilot.press("e", "e")  # regulation only, on the new session
            await settled(pilot)
            assert "Filter: call-centre (regulation) accesses only." in status(app)
            assert "No entry matches this filter." in status(app)
            assert app.screen.query_one("#trace-mode").value == "regulation"

    asyncio.run(run())


def test_notifications_emergency_first_and_mark_all_read(host):
    unread_before = host.sql("SELECT count(*) FROM notifications WHERE read_at IS NULL")[0][0]
    assert unread_before > 1

    async def run():
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "notifications")
            await settled(pilot)
            about = column(app, 2)
            assert about[0] == "EMERGENCY ACCESS"
            assert "EMERGENCY ACCESS" not in about[about.index("New document") :]
            first = rows(app)[0]
            assert first[1] == "UNREAD"
            assert "Julien Mercier" in first[3] and "break-glass" in first[3]
            assert "UNREAD" in column(app, 1) and "read" in column(app, 1)
            assert status(app).startswith("Notifications: ")

            await pilot.press("r")
            await wait_for(pilot, lambda: status(app).startswith("Done:"))
            assert status(app) == "Done: every notification is now marked as read."
            assert host.sql("SELECT count(*) FROM notifications WHERE read_at IS NULL") == [(0,)]
            assert set(column(app, 1)) == {"read"}
            await pilot.press("r")
            assert "already read" in status(app)

    asyncio.run(run())
