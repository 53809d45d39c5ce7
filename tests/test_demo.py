"""``dmptui demo``: the real demo host (its own process, ``dmptui.entry.demo.DemoHost``) and the
TUI driven by keys against it: the login while the host starts, the demo phone beside the login
form and over any screen (F9), every message the host sends, newest first, as text."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from hostkit import LiveHost
from tuikit import make_app, status, wait_for

from dmptui import i18n
from dmptui.demo import HOST_READY, HOST_STARTING
from dmptui.entry.demo import DemoHost
from dmptui.schema import PRACTITIONER_HEADER
from screens.app import AppConfig, DmpApp

START = 180.0  # seconds the demo host may take to seed on a busy machine (not a timing goal)
MARKUP = "[bold red]Patiente[/bold red] [link=https://example.org]inconsciente[/link]"
CODE = re.compile(r"Votre code DMP : (\d{6}) ")


def footer_keys(app: DmpApp) -> list[str]:
    """The keys the footer shows now, by binding id."""
    return [b.id or b.action for _n, b, _e, _t in app.screen.active_bindings.values() if b.show]


def test_the_demo_in_the_tui_login_while_the_host_starts_then_the_phone_everywhere(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        i18n.set_language("en")
        with DemoHost(tmp_path / "demo") as demo:
            # The app starts with the host process: the host migrates and seeds a fresh database
            # (seconds), while the login form is painted and typed into (a fraction of one).
            # Its start is held here until the password is submitted, so that the login meets a
            # host that is not ready whatever the machine's speed (no timing in the test).
            start = demo.go
            held = [True]
            demo.go = lambda: None if held[0] else start()  # type: ignore[method-assign]
            app = DmpApp(
                AppConfig(
                    host_url=demo.url, lang="en", ins=demo.ins, demo=demo, data_dir=tmp_path / "a"
                )
            )
            async with app.run_test(size=(140, 45)) as pilot:
                await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
                assert "app.demo_phone" in footer_keys(app)
                phone = app.screen.query_one("#demo-phone")
                assert demo.password in str(app.screen.query_one("#demo-hint").render())
                app.screen.query_one("#password").focus()
                await pilot.press(*demo.password)
                assert not demo.ready()  # the host is still seeding: the login waits for it
                await pilot.press("enter")
                await wait_for(pilot, lambda: status(app) == f"Please wait: {HOST_STARTING}")
                held[0] = False
                start()  # the host starts now; the waiting login goes on by itself
                await wait_for(pilot, lambda: app.screen.query_one("#code-step").display, START)
                assert demo.ready()
                assert HOST_READY in [m.text for m in app.state.messages]
                # The code by SMS, read on the demo phone beside the form.
                await pilot.press("f2")
                await wait_for(pilot, lambda: CODE.search(phone.text) is not None, 30)
                login_code = CODE.search(phone.text).group(1)  # type: ignore[union-attr]
                await pilot.press(*login_code, "enter")
                await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HomeScreen")
                assert "app.demo_phone" in footer_keys(app)

                # F9: the demo phone over home, with the login code.
                await pilot.press("f9")
                await wait_for(pilot, lambda: app.screen.id == "demo-phone-screen")
                full = app.screen.query_one("#demo-phone-full")
                await wait_for(pilot, lambda: login_code in full.text)

                # A step-up code (what deleting, closing and the emergency choices ask for)…
                await app.client.step_up_send("sms")
                await wait_for(pilot, lambda: len(CODE.findall(full.text)) == 2, 30)
                step_code = CODE.findall(full.text)[0]  # newest first
                # … then a break-glass access with markup in its reason: the notices it sends
                # come newest first, and name no reason (messages leave the host: "open the app to
                # read it"; the reason is in the app, sealed).
                emergency = next(p for p in demo.creds["practitioners"] if p["role"] == "emergency")
                async with httpx.AsyncClient(base_url=demo.url) as http:
                    r = await http.get(
                        f"/v1/ps/records/{demo.ins}/documents",
                        params={"mode": "break-glass", "reason": MARKUP},
                        headers={PRACTITIONER_HEADER: emergency["credential"]},
                    )
                assert r.status_code == 200, r.text
                opened = "Votre dossier médical partagé a été ouvert en urgence."
                await wait_for(pilot, lambda: full.text.count(opened) >= 2, 30)  # SMS and email
                text = full.text
                assert MARKUP not in text
                assert text.index(opened) < text.index(f"Votre code DMP : {step_code}")
                assert text.index(f"Votre code DMP : {step_code}") < text.rindex(
                    f"Votre code DMP : {login_code}"
                )
                shown = str(full.query_one("#demo-messages").render())
                assert full.text == shown  # no markup was taken from the messages

                # F9 again (or Esc) closes it; the screen beneath is as it was.
                await pilot.press("f9")
                await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HomeScreen")
                await pilot.press("2")
                await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentsScreen")
                await pilot.press("f9")
                await wait_for(pilot, lambda: app.screen.id == "demo-phone-screen")
                await pilot.press("escape")
                await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentsScreen")

    asyncio.run(go())


def test_no_demo_phone_outside_the_demo(host: LiveHost) -> None:
    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(140, 45)) as pilot:
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert "app.help" in footer_keys(app)
            assert "app.demo_phone" not in footer_keys(app)
            assert not app.screen.query("#demo-phone")
            await pilot.press("f9")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "LoginScreen"

    asyncio.run(go())


def test_a_killed_demo_leaves_no_host_process_nor_files(tmp_path: Path) -> None:
    """The demo host process ends, and removes its directory, when the app is killed (its stdin
    closes): while it is still seeding, and once it serves."""
    import os
    import signal
    import sys
    import time

    import pexpect

    for when in ("Starting the demo record host on this computer…", "Screen: 0 — Log in"):
        tmp = tmp_path / ("early" if "Starting" in when else "late")
        tmp.mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_DATA_HOME": str(tmp / "data"),
            "TMPDIR": str(tmp / "t"),
            "LANG": "C.UTF-8",
        }
        (tmp / "t").mkdir()
        child = pexpect.spawn(
            sys.executable,
            ["-m", "dmptui.entry.cli", "demo", "--screen-reader", "--lang", "en"],
            env=env,
            encoding="utf-8",
            timeout=START,
        )
        try:
            child.expect_exact(when)
            # The host process makes its directory as it starts, just after that line.
            deadline = time.monotonic() + START
            while not any((tmp / "t").iterdir()) and time.monotonic() < deadline:
                time.sleep(0.02)
            made = list((tmp / "t").iterdir())
            assert len(made) == 1 and made[0].name.startswith("dmptui-demo-")
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            deadline = time.monotonic() + START
            while any((tmp / "t").iterdir()) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any((tmp / "t").iterdir()), f"left behind after a kill at {when!r}"
        finally:
            child.terminate(force=True)
