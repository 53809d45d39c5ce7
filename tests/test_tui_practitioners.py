"""Screen 3 — Practitioners, driven by keys against the real host."""

from __future__ import annotations

import asyncio

from hostkit import LiveHost
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from tuikit import goto, login, make_app, settled, status, wait_for


def ps_documents(host: LiveHost, role: str) -> tuple[int, str | None]:
    """What a practitioner gets when listing the record's documents: the status, and for a
    refusal the reason the patient's trace keeps. (A practitioner the patient never let in is
    told no more than "no_access", as for an INS without a record.)"""
    with host.ps(role) as c:
        r = c.get(f"/v1/ps/records/{host.ins}/documents")
    if r.status_code == 200:
        return 200, None
    assert r.json()["reason"] == "no_access", r.text
    rows = host.sql(
        "SELECT t.reason FROM trace_entries t JOIN records r ON r.id = t.record_id "
        "WHERE r.ins = :ins ORDER BY t.seq DESC LIMIT 1",
        {"ins": host.ins},
    )
    return r.status_code, str(rows[0][0])


def rows(app: object) -> dict[str, list[str]]:
    """The table as the patient sees it: name → [name, profession, status, rpps, facility]."""
    table = app.screen.query_one("#practitioners-table", DataTable)  # type: ignore[attr-defined]
    out = {}
    for key in table.rows:
        cells = [str(c) for c in table.get_row(key)]
        out[cells[0]] = cells
    return out


def heading(app: object) -> str:
    return str(app.screen.query_one("#list-heading", Static).render())  # type: ignore[attr-defined]


async def select(pilot: Pilot, name: str) -> None:
    """Move the table cursor with the arrow keys onto ``name``."""
    app = pilot.app
    app.screen.query_one("#practitioners-table").focus()
    await pilot.press("ctrl+home")
    for _ in range(30):
        row = app.screen.selected()  # type: ignore[attr-defined]
        if row is not None and row.name == name:
            return
        await pilot.press("down")
    raise AssertionError(f"{name} is not in the list")


async def search(pilot: Pilot, text: str) -> None:
    await pilot.press("slash")
    app = pilot.app
    field = app.screen.query_one("#practitioners-search")
    assert app.focused is field
    await pilot.press("ctrl+a", "ctrl+k")  # clear what was typed before
    await pilot.press(*text)
    await pilot.press("enter")
    await settled(pilot)


async def open_screen(pilot: Pilot, host: LiveHost) -> None:
    await login(pilot, host)
    await goto(pilot, "practitioners")
    await settled(pilot)


def test_list_and_directory_search(host: LiveHost) -> None:
    author = host.practitioner("author")
    emergency = host.practitioner("emergency")

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_screen(pilot, host)
            assert "up to date" in status(app)
            assert "Your practitioners" in heading(app)
            table = rows(app)
            attending = table[host.practitioner("attending")["name"]]
            assert "your médecin traitant" in attending[2]
            assert attending[1] == "doctor"
            for role in ("author", "authorised", "pharmacist"):
                assert "authorised since" in table[host.practitioner(role)["name"]][2]
            assert table[host.practitioner("pharmacist")["name"]][1] == "pharmacist"
            assert table[author["name"]][3] == author["rpps"]
            assert emergency["name"] not in table

            # By part of a name: the directory, said in words.
            await search(pilot, emergency["name"].split()[1][:4].lower())
            assert "Directory results" in heading(app)
            found = rows(app)
            assert found[emergency["name"]][2] == "not authorised"
            assert "found in the directory" in status(app)

            # By RPPS: 11 digits are checked, then searched.
            await search(pilot, emergency["rpps"])
            assert list(rows(app)) == [emergency["name"]]
            bad = emergency["rpps"][:10] + str((int(emergency["rpps"][10]) + 1) % 10)
            await search(pilot, bad)
            assert "check digit" in status(app) and "Nothing was searched" in status(app)
            assert list(rows(app)) == [emergency["name"]]  # unchanged: nothing was sent

            # Occupational and insurers' doctors are said never to have access.
            await search(pilot, "Kieffer")
            assert "never has access" in rows(app)["Anne Kieffer"][2]
            assert rows(app)["Anne Kieffer"][1] == "occupational doctor"

            # Esc goes back to the patient's own list, not out of the screen.
            await pilot.press("escape")
            assert app.screen.SCREEN_KEY == "practitioners"
            assert "Your practitioners" in heading(app)
            assert emergency["name"] not in rows(app)

    asyncio.run(run())


def test_grant_then_revoke(host: LiveHost) -> None:
    emergency = host.practitioner("emergency")
    rpps = emergency["rpps"]
    assert ps_documents(host, "emergency")[0] == 403

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_screen(pilot, host)
            await search(pilot, emergency["name"])
            await select(pilot, emergency["name"])
            await pilot.press("a")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceScreen")
            assert app.focused.id == "choice-normal"  # the default: ordinary access
            await pilot.press("enter")
            await settled(pilot)
            assert status(app) == f"Done: {emergency['name']} can now access your record."
            assert "authorised since" in rows(app)[emergency["name"]][2]
            assert host.sql(
                "SELECT see_masked FROM authorisations WHERE rpps = :r", {"r": rpps}
            ) == [(0,)]
            assert ps_documents(host, "emergency")[0] == 200

            await pilot.press("r")
            await settled(pilot)
            assert status(app) == f"Done: {emergency['name']} can no longer access your record."
            assert rows(app)[emergency["name"]][2] == "not authorised"
            assert host.sql("SELECT * FROM authorisations WHERE rpps = :r", {"r": rpps}) == []
            assert ps_documents(host, "emergency")[0] == 403

            # Same rights as the médecin traitant: asked, and said in the status column.
            await pilot.press("a")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceScreen")
            await pilot.press("tab", "enter")
            await settled(pilot)
            assert "hidden documents included" in status(app)
            assert "sees hidden documents" in rows(app)[emergency["name"]][2]
            assert host.sql(
                "SELECT see_masked FROM authorisations WHERE rpps = :r", {"r": rpps}
            ) == [(1,)]

    asyncio.run(run())


def test_block_unblock_and_the_attending_cannot_be_blocked(host: LiveHost) -> None:
    author = host.practitioner("author")
    attending = host.practitioner("attending")

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_screen(pilot, host)
            await select(pilot, author["name"])
            # Cancelling changes nothing.
            await pilot.press("b")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
            consequence = str(app.screen.query_one("#consequence", Static).render())
            assert "in any mode, emergencies included" in consequence
            await pilot.press("enter")  # Cancel has the focus
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PractitionersScreen")
            assert "Nothing was changed" in status(app)
            assert host.sql("SELECT * FROM blocks") == []

            await pilot.press("b")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
            await pilot.press("shift+tab", "enter")
            await settled(pilot)
            assert status(app).startswith(f"Done: {author['name']} is blocked")
            assert "BLOCKED since" in rows(app)[author["name"]][2]
            assert "authorised" not in rows(app)[author["name"]][2]
            assert ps_documents(host, "author") == (403, "blocked")

            await pilot.press("n")
            await settled(pilot)
            assert status(app).startswith(f"Done: {author['name']} is no longer blocked")
            assert author["name"] not in rows(app)  # neither authorised nor blocked any more
            assert host.sql("SELECT * FROM blocks") == []
            assert ps_documents(host, "author") == (403, "not_authorised")

            # The médecin traitant: the refusal, explained; no block, nothing asked.
            await select(pilot, attending["name"])
            await pilot.press("b")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "PractitionersScreen"
            assert status(app) == (
                "Error: Your médecin traitant cannot be blocked. Choose "
                "another médecin traitant first."
            )
            assert host.sql("SELECT * FROM blocks") == []

    asyncio.run(run())


def test_designate_attending_in_french_and_refusals(host: LiveHost) -> None:
    new = next(p for p in host.creds["practitioners"] if p["name"] == "Pierre Martin")
    pharmacist = host.practitioner("pharmacist")

    async def run() -> None:
        app = make_app(host, "fr")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_screen(pilot, host)
            assert "Vos professionnels" in heading(app)
            table = rows(app)
            assert table[pharmacist["name"]][1] == "pharmacien"
            assert "autorisé depuis le" in table[pharmacist["name"]][2]

            # The host refuses a pharmacist as médecin traitant: explained in French.
            await select(pilot, pharmacist["name"])
            await pilot.press("t")
            await settled(pilot)
            assert status(app) == "Erreur : Seul un médecin peut être votre médecin traitant."
            old = host.practitioner("attending")["rpps"]
            assert host.sql("SELECT attending_rpps FROM records") == [(old,)]

            await search(pilot, "martin")
            assert "Résultats de l'annuaire" in heading(app)
            await select(pilot, new["name"])
            await pilot.press("t")
            # Changing asks first, and says what becomes of the former médecin traitant;
            # the default keeps their ordinary access.
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceScreen")
            assert app.focused.id == "choice-keep"
            await pilot.press("enter")
            await settled(pilot)
            former = host.practitioner("attending")
            assert status(app).startswith(
                "Fait : Pierre Martin est maintenant votre médecin traitant"
            )
            assert f"{former['name']} garde un accès ordinaire" in status(app)
            assert host.sql("SELECT attending_rpps FROM records") == [(new["rpps"],)]
            assert "votre médecin traitant" in rows(app)[new["name"]][2]
            assert host.sql(
                "SELECT see_masked FROM authorisations WHERE rpps = :r", {"r": old}
            ) == [(0,)]

            # On the médecin traitant, t unsets them; cancelling changes nothing, then the
            # second choice ends their access too.
            await select(pilot, new["name"])
            await pilot.press("t")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceScreen")
            await pilot.press("escape")
            await settled(pilot)
            assert host.sql("SELECT attending_rpps FROM records") == [(new["rpps"],)]
            await select(pilot, new["name"])
            await pilot.press("t")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceScreen")
            await pilot.press("tab", "enter")
            await settled(pilot)
            assert status(app).startswith("Fait : Vous n'avez plus de médecin traitant.")
            assert host.sql("SELECT attending_rpps FROM records") == [(None,)]
            assert host.sql(
                "SELECT count(*) FROM authorisations WHERE rpps = :r", {"r": new["rpps"]}
            ) == [(0,)]

    asyncio.run(run())


def test_session_end_then_resume(host: LiveHost) -> None:
    """The session ends (12 h later): log in again, and the grant goes through after."""
    nurse = next(p for p in host.creds["practitioners"] if p["name"] == "Élodie Roussel")

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_screen(pilot, host)
            await search(pilot, "Roussel")
            await select(pilot, nurse["name"])
            host.clock.advance(hours=13)
            await pilot.press("a")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceScreen")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert (
                host.sql("SELECT * FROM authorisations WHERE rpps = :r", {"r": nurse["rpps"]}) == []
            )
            app.screen.query_one("#password").focus()
            await pilot.press(*host.password, "enter")
            await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
            await pilot.press(*host.code(), "enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PractitionersScreen")
            await settled(pilot)
            assert status(app) == f"Done: {nurse['name']} can now access your record."
            assert "Directory results" in heading(app)
            assert (
                len(host.sql("SELECT * FROM authorisations WHERE rpps = :r", {"r": nurse["rpps"]}))
                == 1
            )

    asyncio.run(run())


def test_a_list_changed_elsewhere_meanwhile_is_reloaded_not_overwritten(host: LiveHost) -> None:
    authorised = host.practitioner("authorised")
    rpps = authorised["rpps"]

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await open_screen(pilot, host)
            await select(pilot, authorised["name"])
            assert "sees hidden documents" not in rows(app)[authorised["name"]][2]
            # Meanwhile, another session of the patient gives them the masked documents too.
            with host.login() as other:
                r = other.put(f"/v1/record/authorisations/{rpps}", json={"see_masked": True})
                assert r.status_code == 200, r.text
            await pilot.press("r")
            await wait_for(pilot, lambda: "changed elsewhere" in status(app))
            assert "It has been reloaded" in status(app)
            assert "sees hidden documents" in rows(app)[authorised["name"]][2]
        assert host.sql("SELECT see_masked FROM authorisations WHERE rpps = :r", {"r": rpps}) == [
            (1,)
        ]

    asyncio.run(run())
