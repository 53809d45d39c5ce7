"""Data is text, never markup: a title written as Rich/Textual markup shows literally."""

from __future__ import annotations

import asyncio

from hostkit import LiveHost
from tuikit import goto, login, make_app, settled

TITLE = "[red]x[/red] [@click=app.quit]q[/] [link=http://evil]l[/link]"


def test_markup_in_a_title_is_shown_as_text(host: LiveHost) -> None:
    with host.ps("author") as c:
        r = c.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={"type": "11488-4", "title": TITLE, "content": "Texte."},
        )
    assert r.status_code == 201

    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(240, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "documents")
            await settled(pilot)
            # What is painted, not what is stored: markup would vanish from the screen.
            painted = app.export_screenshot().replace("&#160;", " ")
            assert "[red]x[/red]" in painted
            assert app.is_running  # the @click did not run

    asyncio.run(go())
