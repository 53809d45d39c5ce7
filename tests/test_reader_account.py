"""Screen 10 of screen-reader mode (My devices and sessions), in process against the real host
over real HTTP: reached by its number, sessions and devices said with "this device", a session
ended after a confirmation, and the password changed with a fresh code."""

from __future__ import annotations

import re

from hostkit import LiveHost
from test_reader_nav import CODE, Run, drive, flat

NEW_PASSWORD = "Ombre-Marée-Genêt-77"


def test_sessions_listed_one_ended_and_the_password_changed(host: LiveHost) -> None:
    other = host.login(**{"X-Device-Id": "other-laptop"})

    async def script(run: Run) -> None:
        await run.log_in()
        await run.answer("10")  # the main menu's entry
        came = flat(await run.until("What now?"))
        assert "Screen: 10 — My devices and sessions" in came
        assert "Sessions open now (Paris time): 1. This device — Session opened" in came
        assert came.count("Paris time") == 1  # the zone once for the screen, not per time
        # Times said for the ear, as on every screen: "4:09 pm", never "16:09".
        assert re.search(r"Session opened \d+ \w+ \d{4} at (\d+(:\d\d)? [ap]m|noon|midnight)", came)
        assert "2. Session opened" in came
        assert "Remembered devices:" in came
        # End the other session.
        await run.answer("1")
        came = flat(await run.until("Which session? Type its number."))
        await run.answer("2")
        came = flat(await run.until("0 Cancel."))
        assert "End this session?" in came and "must log in again" in came
        await run.answer("1")
        came = flat(await run.until("What now?"))
        assert "That session has ended" in came
        assert "2. Session opened" not in came
        # Change the password: the current one, the new one twice, confirmed, a fresh code.
        await run.answer("4")
        await run.answer(host.password, "Current password:")
        await run.answer(NEW_PASSWORD, "New password (12 characters or more):")
        await run.answer(NEW_PASSWORD, "New password again:")
        came = flat(await run.until("0 Cancel."))
        assert "Change your password?" in came
        await run.answer("1")
        await run.answer("1", "Your choice:")  # the code from the authenticator app
        await run.answer(host.code(), CODE)
        came = flat(await run.until("What now?"))
        assert "Your password is changed" in came
        # A wrong current password: explained, nothing changed.
        await run.answer("4")
        await run.answer("not my password at all", "Current password:")
        await run.answer("Pomme-Nuage-Orage-88", "New password (12 characters or more):")
        await run.answer("Pomme-Nuage-Orage-88", "New password again:")
        await run.answer("1")
        await run.answer("1", "Your choice:")
        await run.answer(host.code(), CODE)
        came = flat(await run.until("Your choice:"))
        assert "Your current password is wrong" in came
        run.type("q")  # at the question that came after the error
        await run.until("Done: you left dmptui. Goodbye.")

    drive(host, script)
    assert other.get("/v1/record").status_code == 401
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": NEW_PASSWORD})
    assert r.status_code == 200
    assert host.sql(
        "SELECT outcome, reason FROM trace_entries WHERE action = 'password.change' ORDER BY seq"
    ) == [("allowed", None), ("denied", "bad_password")]
