"""One action, one place: each mission action done in the TUI and in screen-reader mode, each on
its own fresh demo host, gives the same outcome in words and leaves the host in the same state.

The keys are the support guide's (``docs/support.md``, executed by ``test_support_guide``): the
whole flow runs in the TUI under Pilot on one host and in a real ``dmptui --screen-reader``
process on the other. After each task the test keeps what the patient was told it did (the last
"Done:" line that is not a screen's loading words) and the record as the host holds it; then it
compares the two runs task by task."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import test_support_guide as guide
from hostkit import LiveHost

from dmptui import i18n, loading

# The tasks that change the record (the others only read it).
ACTIONS = (
    "hide-document",
    "delete-document",
    "give-access",
    "remove-access",
    "block-practitioner",
    "change-attending",
    "refuse-emergency-access",
    "close-record",
    "reopen-record",
    "erase-record",
)
LANG = "fr"


def snapshot(host: LiveHost) -> dict[str, Any]:
    """The record as the host holds it: what an action can change, without times."""

    def rows(query: str) -> list[tuple[Any, ...]]:
        return sorted(tuple(str(v) for v in row) for row in host.sql(query, {}))

    return {
        "record": rows(
            "SELECT status, refuses_break_glass, refuses_regulation, attending_rpps FROM records"
        ),
        "documents": rows("SELECT id, labels FROM documents"),
        "authorisations": rows("SELECT rpps, see_masked FROM authorisations"),
        "blocks": rows("SELECT rpps FROM blocks"),
        "patient_changes": rows(
            "SELECT action, outcome, document_id, count(*) FROM trace_entries "
            "WHERE actor_role = 'patient' AND action NOT LIKE '%.list' "
            "AND action NOT LIKE '%read%' "
            "AND action NOT IN ('login', 'logout', 'record.status', 'directory.search', "
            "'document.download') "
            "GROUP BY action, outcome, document_id"
        ),
    }


def outcome(lines: list[str]) -> str:
    """The last "Done:" line of a task that is not a screen saying it has loaded."""
    done = i18n._("Done:")
    chatter = {
        f"{done} {i18n._(words)}"
        for words in (loading.RECORD_UP_TO_DATE, loading.PRACTITIONERS_UP_TO_DATE)
    }
    said = [line for line in lines if line.startswith(done) and line not in chatter]
    assert said, "the patient was told nothing was done:\n" + "\n".join(lines[-20:])
    return said[-1]


def tui_run(host: LiveHost, blocks: list[guide.Block]) -> dict[str, tuple[str, Any]]:
    from screens.app import AppConfig, DmpApp

    results: dict[str, tuple[str, Any]] = {}

    async def run() -> None:
        i18n.set_language(LANG)
        app = DmpApp(AppConfig(host_url=host.url, lang=LANG))
        async with app.run_test(size=(100, 30)) as pilot:
            tui = guide.Tui(pilot, host)
            await tui.settle()
            for task in guide.FLOW:
                block, before, says = guide.start(host, blocks, LANG, "tui", task)
                step = await tui.do(block)
                guide.verify(host, block, step, before, says)
                if task in ACTIONS and task not in results:
                    results[task] = (outcome(step.lines), snapshot(host))

    asyncio.run(run())
    return results


def reader_run(
    host: LiveHost, blocks: list[guide.Block], tmp_path: Path
) -> dict[str, tuple[str, Any]]:
    results: dict[str, tuple[str, Any]] = {}
    reader = guide.Reader(host, LANG, tmp_path)
    try:
        reader.question()
        for task in guide.FLOW:
            block, before, says = guide.start(host, blocks, LANG, "reader", task)
            step = reader.do(block)
            guide.verify(host, block, step, before, says)
            if task in ACTIONS and task not in results:
                i18n.set_language(LANG)
                results[task] = (outcome(step.lines), snapshot(host))
    finally:
        reader.close()
    return results


def test_both_front_ends_give_the_same_outcome_and_host_state(
    host: LiveHost, second_host: LiveHost, tmp_path: Path
) -> None:
    blocks = guide.guide_blocks()
    assert set(ACTIONS) <= set(guide.TASKS)
    tui = tui_run(host, blocks)
    reader = reader_run(second_host, blocks, tmp_path)
    assert set(tui) == set(reader) == set(ACTIONS)
    for task in ACTIONS:
        tui_words, tui_state = tui[task]
        reader_words, reader_state = reader[task]
        assert tui_words == reader_words, f"{task}: the two front ends say different things"
        assert tui_state == reader_state, f"{task}: the host is left in different states"


def test_a_different_outcome_is_found(host: LiveHost) -> None:
    # The comparison can fail: a snapshot sees an action's change, and outcome() reads the words.
    before = snapshot(host)
    doc_id = host.titles() and next(iter(host.titles()))
    client = host.login()
    host.step_up(client)
    assert client.delete(f"/v1/record/documents/{doc_id}").status_code == 204
    assert snapshot(host) != before
    i18n.set_language("en")
    assert outcome(["Done: Your record is up to date.", "Done: X is deleted.", "Info"]) == (
        "Done: X is deleted."
    )
