"""Screen 2 — Documents, driven by keys against the real host."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from tuikit import goto, login, make_app, settled, status, wait_for

from dmptui.host.demo_data import DEMO_DOCUMENTS
from dmptui.schema import DOC_TYPE_LABELS, DocType

SERTRALINE = "Ordonnance — sertraline"
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def save_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "saved"
    folder.mkdir()
    monkeypatch.setenv("DMPTUI_SAVE_DIR", str(folder))
    return folder


def titles(app: Any) -> list[str]:
    return [d.title for d in app.screen.rows]


def table_text(app: Any) -> str:
    table = app.screen.query_one("#doc-table")
    return "\n".join(
        " | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)
    )


def visible_count(host: Any) -> int:
    # The one INVISIBLE_PATIENT document is not the patient's to see yet.
    return host.sql("SELECT count(*) FROM documents WHERE labels NOT LIKE '%INVISIBLE_PATIENT%'")[
        0
    ][0]


def labels_of(host: Any, title: str) -> str:
    return host.labels_of(title)


def pharmacist_titles(host: Any) -> list[str]:
    with host.ps("pharmacist") as ps:
        r = ps.get(f"/v1/ps/records/{host.ins}/documents", params={"limit": 200})
        assert r.status_code == 200, r.text
        return [d["title"] for d in r.json()["items"]]


async def open_documents(pilot: Any, host: Any) -> None:
    await login(pilot, host)
    await goto(pilot, "documents")
    await settled(pilot)


async def search(pilot: Any, words: str) -> None:
    app = pilot.app
    await pilot.press("slash")
    search_input = app.screen.query_one("#doc-search")
    assert app.focused is search_input
    search_input.value = ""
    await pilot.press(*words)
    await pilot.press("enter")
    await settled(pilot)
    assert app.focused is app.screen.query_one("#doc-table")


async def type_code(pilot: Any, host: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CodeScreen")
    await pilot.press(*host.code())
    await pilot.press("enter")


def test_list_search_filter_sort(host: Any) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 45)) as pilot:
            await open_documents(pilot, host)
            n = visible_count(host)
            assert n >= 30
            assert len(app.screen.rows) == n
            assert f"{n} documents loaded (all of them)." in status(app)
            shown = table_text(app)
            assert SERTRALINE in shown and "Bilan de pré-éclampsie" in shown
            assert "HIDDEN" in shown  # the demo has masked documents, said in words
            assert "Consultation postnatale" in shown

            # Search on titles: the host narrows the list.
            await search(pilot, "ordon")
            expected = sum("ordon" in t.lower() for t in host.titles().values())
            assert 0 < len(titles(app)) == expected < n
            assert all("ordon" in t.lower() for t in titles(app))
            assert "search: ordon" in str(app.screen.query_one("#doc-view").render())
            # An empty search shows everything again.
            await search(pilot, "")
            assert len(titles(app)) == n
            # Esc in the search field goes back to the list, not to the previous screen.
            await pilot.press("slash", "escape")
            assert app.focused is app.screen.query_one("#doc-table")
            assert app.screen.__class__.__name__ == "DocumentsScreen"

            # Filter by type: "all" first, then each type in turn.
            await pilot.press("t")
            await settled(pilot)
            first, second = list(DocType)[:2]
            label = DOC_TYPE_LABELS[first]["en"]
            expected = host.sql(
                "SELECT count(*) FROM documents WHERE type = :t", {"t": first.value}
            )[0][0]
            assert len(app.screen.rows) == expected > 0
            assert all(d.type == first.value for d in app.screen.rows)
            assert label in table_text(app)
            assert f"Showing: {label}" in str(app.screen.query_one("#doc-view").render())
            await pilot.press("t")
            await settled(pilot)
            assert {d.type for d in app.screen.rows} == {second.value}

            # Sort, locally, saying so.
            await pilot.press("o")
            assert "Sorted by type, here on this device" in status(app)
            kinds = [DOC_TYPE_LABELS[d.type]["en"].casefold() for d in app.screen.rows]
            assert kinds == sorted(kinds)
            await pilot.press("o")
            shown_titles = titles(app)
            assert [t.casefold() for t in shown_titles] == sorted(
                t.casefold() for t in shown_titles
            )
            table = app.screen.query_one("#doc-table")
            assert str(table.get_row_at(0)[2]) == shown_titles[0]

    asyncio.run(run())


def test_pages_load_as_you_scroll(host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from screens.documents import DocumentsScreen

    monkeypatch.setattr(DocumentsScreen, "PAGE_SIZE", 10)
    monkeypatch.setattr(DocumentsScreen, "NEAR_END", 3)

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 45)) as pilot:
            await open_documents(pilot, host)
            table = app.screen.query_one("#doc-table")
            assert table.row_count == 10  # one page, not the whole record
            assert "Documents 1 to 10 loaded; more load as you scroll." in status(app)
            await pilot.press(*["down"] * 7)  # within 3 rows of the end
            await wait_for(pilot, lambda: table.row_count == 20)
            await settled(pilot)
            assert "Documents 1 to 20 loaded" in status(app)
            total = visible_count(host)
            while app.screen.next_cursor:
                before = table.row_count
                await pilot.press("ctrl+end")  # to the last loaded row
                await wait_for(
                    pilot, lambda b=before: table.row_count > b or not app.screen.next_cursor
                )
                await settled(pilot)
            assert table.row_count == total
            assert f"{total} documents loaded (all of them)." in status(app)
            assert len({d.id for d in app.screen.rows}) == total

    asyncio.run(run())


def test_sort_after_pages_were_dropped(host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A list longer than the window of pages, scrolled to its end (its first pages dropped),
    then sorted: the dropped pages are fetched again, every page is kept while the list is sorted
    on the device, and back to the date the list is in the host's order in a bounded window."""
    from screens import documents
    from screens.documents import DocumentsScreen

    monkeypatch.setattr(DocumentsScreen, "PAGE_SIZE", 5)
    monkeypatch.setattr(DocumentsScreen, "NEAR_END", 2)
    monkeypatch.setattr(documents, "KEEP_PAGES", 2)

    def view_line(app: Any) -> str:
        return str(app.screen.query_one("#doc-view").render())

    async def run() -> None:
        app = make_app(host, "en")
        # 17 rows: five rows of the list on screen (at 20, the one-line message log leaves it
        # seven; at 18, the screen styled for its size from the start, six). Below 20 rows the
        # screen is covered by "make the terminal bigger"; the list underneath works the same,
        # and that is what this test drives.
        async with app.run_test(size=(160, 17)) as pilot:
            await open_documents(pilot, host)
            table = app.screen.query_one("#doc-table")
            total = visible_count(host)
            assert total > 6 * 5  # more pages than the window holds
            assert table.scrollable_content_region.height - 1 <= 5  # a page's rows on screen
            while app.screen.next_cursor:
                before = table.row_count
                await pilot.press("ctrl+end")
                await wait_for(
                    pilot, lambda b=before: table.row_count > b or not app.screen.next_cursor
                )
                await settled(pilot)
            assert table.row_count == total and table.complete
            assert len(app.screen.rows) <= 4 * 5 and not table.all_loaded  # pages dropped
            assert "sorted by date added, newest first" in view_line(app)

            # Sort by type: the dropped pages are fetched again, then the list is sorted here.
            await pilot.press("o")
            await wait_for(pilot, lambda: "Sorted by type, here on this device" in status(app))
            await settled(pilot)
            rows = app.screen.rows
            assert len(rows) == total and len({d.id for d in rows}) == total
            assert {d.title for d in rows} == {
                t for i, t in host.titles().items() if i in {d.id for d in rows}
            }
            kinds = [DOC_TYPE_LABELS[d.type]["en"].casefold() for d in rows]
            assert kinds == sorted(kinds)
            assert "sorted by type" in view_line(app)
            # Browsing the sorted list drops nothing.
            await pilot.press("ctrl+home", "pagedown", "ctrl+end", "pageup", "pageup")
            await settled(pilot)
            assert len(app.screen.rows) == total
            chosen = table.current
            assert chosen is not None

            # Title, author, then date again: the host's order, the window bounded again.
            await pilot.press("o", "o")
            assert "Sorted by author" in status(app) and len(app.screen.rows) == total
            await pilot.press("o")
            await settled(pilot)
            assert "Back in the order the documents were added" in status(app)
            assert len(app.screen.rows) <= 4 * 5 and not table.all_loaded
            assert "sorted by date added, newest first" in view_line(app)
            assert table.current.id == chosen.id  # the cursor stays on its document
            # The top of the list comes back from the host: the newest deposit first.
            await pilot.press("ctrl+home")
            await wait_for(pilot, lambda: table.current is not None)
            await settled(pilot)
            (newest,) = host.sql(
                "SELECT id FROM documents WHERE labels NOT LIKE '%INVISIBLE_PATIENT%'"
                " ORDER BY deposited_at DESC LIMIT 1"
            )[0]
            assert table.current.id == newest
            assert len(app.screen.rows) <= 4 * 5

    asyncio.run(run())


def test_sort_refused_when_the_list_grows_past_the_limit(
    host: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked to sort a list not loaded to its end, the app loads it; past the sort limit it
    says the list is too long and goes back to the bounded window in the host's order."""
    from screens import documents
    from screens.documents import DocumentsScreen

    monkeypatch.setattr(DocumentsScreen, "PAGE_SIZE", 5)
    monkeypatch.setattr(DocumentsScreen, "NEAR_END", 2)
    monkeypatch.setattr(documents, "KEEP_PAGES", 2)
    monkeypatch.setattr(documents, "SORT_LIMIT", 15)

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 20)) as pilot:
            await open_documents(pilot, host)
            table = app.screen.query_one("#doc-table")
            assert table.row_count < 15
            await pilot.press("o")
            await wait_for(pilot, lambda: "too long to sort here" in status(app))
            await settled(pilot)
            assert 15 <= table.row_count < visible_count(host)
            assert app.screen.sort == "date" and not table.fill
            assert len(app.screen.rows) <= 4 * 5  # the window is bounded again

    asyncio.run(run())


def test_open_read_save_text_and_pdf(host: Any, save_dir: Path) -> None:
    text = next(d for d in DEMO_DOCUMENTS if d["title"] == SERTRALINE)["content"]
    pdf_title = "Compte rendu opératoire — poignet gauche (PDF)"
    with host.ps("author") as ps:
        r = ps.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={
                "type": DocType.DISCHARGE_SUMMARY.value,
                "title": pdf_title,
                "content_type": "application/pdf",
                "content_base64": base64.b64encode(PDF_BYTES).decode(),
            },
        )
        assert r.status_code == 201, r.text

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 45)) as pilot:
            await open_documents(pilot, host)
            await search(pilot, "sertr")
            assert titles(app) == [SERTRALINE]
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentScreen")
            await settled(pilot)
            body = str(app.screen.query_one("#doc-text").render())
            assert text.splitlines()[0] in body and text.splitlines()[-1] in body
            meta = str(app.screen.query_one("#doc-meta").render())
            assert "Type: Prescription" in meta and f"Title: {SERTRALINE}" in meta
            assert "Author: " in meta and "Visibility: visible to the practitioners" in meta
            assert f'Reading "{SERTRALINE}"' in status(app)

            await pilot.press("w")
            await settled(pilot)
            saved = list(save_dir.iterdir())
            assert len(saved) == 1
            assert saved[0].name.endswith("_Ordonnance-sertraline.txt")
            assert saved[0].read_text("utf-8") == text
            assert f'Done: "{SERTRALINE}" is saved in {saved[0]}' in status(app)

            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentsScreen")
            # Saving from the list never overwrites: a second file.
            await pilot.press("w")
            await settled(pilot)
            (second,) = set(save_dir.iterdir()) - set(saved)
            assert second.name.endswith("_Ordonnance-sertraline-2.txt")
            assert second.read_text("utf-8") == text
            assert str(second) in status(app)

            # A PDF is not shown: the reading view says so and offers to save it.
            await search(pilot, "PDF")
            assert titles(app) == [pdf_title]
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentScreen")
            await settled(pilot)
            assert "is a PDF: press w to save it" in status(app)
            assert "Format: PDF" in str(app.screen.query_one("#doc-meta").render())
            await pilot.press("w")
            await settled(pilot)
            (pdf,) = [f for f in save_dir.iterdir() if f.suffix == ".pdf"]
            assert "Compte-rendu-operatoire" in pdf.name
            assert pdf.read_bytes() == PDF_BYTES
            assert str(pdf) in status(app)

    asyncio.run(run())


def test_mask_then_unmask(host: Any) -> None:
    assert SERTRALINE in pharmacist_titles(host)

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 45)) as pilot:
            await open_documents(pilot, host)
            await search(pilot, "sertr")
            table = app.screen.query_one("#doc-table")
            assert str(table.get_row_at(0)[3]) == "visible"

            await pilot.press("m")
            await settled(pilot)
            assert f'Done: "{SERTRALINE}" is now hidden from practitioners.' in status(app)
            assert str(table.get_row_at(0)[3]) == "HIDDEN"
            assert "MASQUE_PS" in labels_of(host, SERTRALINE)
            assert SERTRALINE not in pharmacist_titles(host)

            await pilot.press("u")
            await settled(pilot)
            assert f'Done: "{SERTRALINE}" is now visible to practitioners again.' in status(app)
            assert str(table.get_row_at(0)[3]) == "visible"
            assert "MASQUE_PS" not in labels_of(host, SERTRALINE)
            assert SERTRALINE in pharmacist_titles(host)

    asyncio.run(run())


def count_titled(host: Any, title: str) -> int:
    return len(host.doc_ids(title))


def test_delete_cancel_confirm_and_race(host: Any) -> None:
    title = "Bilan de pré-éclampsie"
    raced = "Radiographies du poignet gauche (face et profil)"
    raced_id = host.doc_id(raced)
    opened = "Radiographies de contrôle du poignet gauche à six semaines"
    opened_id = host.doc_id(opened)

    async def confirm_with_code(pilot: Any) -> None:
        app = pilot.app
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("shift+tab", "enter")  # from Cancel (the default) to Delete
        await type_code(pilot, host)
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentsScreen")
        await settled(pilot)

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 45)) as pilot:
            await open_documents(pilot, host)
            await search(pilot, "clamp")
            assert titles(app) == [title]

            # Cancel (the default button): nothing happens.
            await pilot.press("d")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
            assert "deleted for everyone, for good" in str(
                app.screen.query_one("#consequence").render()
            )
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentsScreen")
            assert f'Nothing was deleted: "{title}" is still in your record.' in status(app)
            assert count_titled(host, title) == 1

            # Confirm, then a fresh code: deleted for everyone.
            await confirm_with_code(pilot)
            assert f'Done: "{title}" is deleted for everyone.' in status(app)
            assert titles(app) == []
            assert app.screen.query_one("#doc-table").row_count == 0
            assert count_titled(host, title) == 0

            # A race: the patient deletes another document from another device meanwhile.
            await search(pilot, "face et")
            assert titles(app) == [raced]
            other = host.login()
            host.step_up(other)
            assert other.delete(f"/v1/record/documents/{raced_id}").status_code == 204
            await confirm_with_code(pilot)
            gone = "Error: This item no longer exists. The list has been refreshed."
            assert gone in status(app)
            assert titles(app) == []

            # Opening a document deleted meanwhile: back to the refreshed list, saying why.
            await search(pilot, "six sem")
            assert titles(app) == [opened]
            assert other.delete(f"/v1/record/documents/{opened_id}").status_code == 204
            other.close()
            await pilot.press("enter")
            await wait_for(pilot, lambda: gone in status(app))
            assert app.screen.__class__.__name__ == "DocumentsScreen"
            assert titles(app) == []

    asyncio.run(run())


def test_session_ended_then_resumed(host: Any) -> None:
    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 45)) as pilot:
            await open_documents(pilot, host)
            await search(pilot, "sertr")
            host.clock.advance(hours=13)  # past the session's absolute lifetime
            await pilot.press("m")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert "Your session has ended" in status(app)
            app.screen.query_one("#password").focus()
            await pilot.press(*host.password)
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
            await pilot.press(*host.code())
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentsScreen")
            await settled(pilot)
            assert f'Done: "{SERTRALINE}" is now hidden from practitioners.' in status(app)
            assert "MASQUE_PS" in labels_of(host, SERTRALINE)

    asyncio.run(run())


def test_in_french(host: Any) -> None:
    async def run() -> None:
        app = make_app(host, "fr")
        async with app.run_test(size=(160, 45)) as pilot:
            await open_documents(pilot, host)
            n = visible_count(host)
            assert f"{n} documents chargés (tous les documents)." in status(app)
            table = app.screen.query_one("#doc-table")
            headers = [str(c.label) for c in table.columns.values()]
            assert "Date des soins" in headers and "Établissement" in headers
            assert "MASQUÉ" in table_text(app)
            assert "Ordonnance" in table_text(app)  # type label, French
            await search(pilot, "sertr")
            await pilot.press("m")
            await settled(pilot)
            assert f"Fait : « {SERTRALINE} » est maintenant masqué aux professionnels." in status(
                app
            )
            assert str(table.get_row_at(0)[3]) == "MASQUÉ"

    asyncio.run(run())


def test_crlf_text_reads_as_lines_and_saves_as_sent(host: Any, save_dir: Path) -> None:
    """A text written on Windows (CR LF): the host keeps it as sent; the app shows its lines
    (no <U+000D> at each line end) and saves the exact bytes."""
    text = "Compte rendu CRLF\r\nLigne deux\r\nLigne trois\r\n"
    with host.ps("author") as ps:
        r = ps.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={
                "type": DocType.CONSULTATION_NOTE.value,
                "title": "Windows CRLF",
                "content": text,
            },
        )
        assert r.status_code == 201, r.text

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 45)) as pilot:
            await open_documents(pilot, host)
            await search(pilot, "crlf")
            assert titles(app) == ["Windows CRLF"]
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DocumentScreen")
            await settled(pilot)
            body = str(app.screen.query_one("#doc-text").render())
            assert "Ligne deux\nLigne trois" in body and "U+000D" not in body, body
            await pilot.press("w")
            await settled(pilot)
            (saved,) = save_dir.iterdir()
            assert saved.read_bytes() == text.encode()

    asyncio.run(run())
