"""The support guide (``docs/support.md``) is executed: a guide that lies fails here.

For each task of issue 4 the guide gives the screen id (a line ``Écran : **2 — Documents**`` /
``Screen: **2 — Documents**`` in the task's section) and the exact keys, for the TUI and for
screen-reader mode, in French and in English, each in a fenced block::

    ```keys tui task=hide-document lang=fr
    1 2 / "sertraline" enter   # choisir le document
    m                          # Masquer aux professionnels
    ```

and what the patient then sees or hears, one whole line each (``both``: in both front ends)::

    ```says both task=hide-document lang=fr
    Fait : « Ordonnance — sertraline » est maintenant masqué aux professionnels.
    ```

The key language, documented at the top of the guide: keys separated by spaces and lines; key
names (``enter``, ``esc``, ``tab``, ``shift+tab``, arrows, ``f1``…, ``ctrl+<letter>``); one
character is its own key; ``"text"`` is typed as it is (an example from the demo record);
``<ins>``, ``<password>`` and ``<code>`` (a fresh one-time code, made when it is typed) are the
patient's; ``#`` starts a comment. In screen-reader mode what is typed is sent by ``enter``.

Each front end runs the whole guide in each language on a fresh demo host: the TUI under Pilot
(``DmpApp``, no INS pre-filled: the patient types it; keys sent as Pilot sends them, then wait
until no call runs), screen-reader mode as a real ``dmptui --screen-reader`` process under a
pseudo-terminal (pexpect; each answer once its question is asked). The tasks run in the guide's
order, closing the record logging out, so the login sequence runs again before reopening. After
each task's own keys: its own check on the host's database, the screen the guide names was
shown, and its ``says`` lines came. One run per front end and language — 4 runs, not 48, each of
which would log in again — keeps the file near a minute: the checks of each task stay its own,
and a failure names the task and the guide's line."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pexpect
import pytest
from hostkit import LiveHost

from dmptui import catalogue, i18n
from dmptui.schema import PRACTITIONER_HEADER

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "support.md"

# The tasks of issue 4, in the guide's order (and the order a run does them in).
TASKS = (
    "log-in",
    "read-document",
    "hide-document",
    "delete-document",
    "give-access",
    "remove-access",
    "block-practitioner",
    "change-attending",
    "see-trace",
    "refuse-emergency-access",
    "close-record",
    "reopen-record",
    "erase-record",
)
FRONT_ENDS = ("tui", "reader")
LANGS = ("fr", "en")
SECTIONS = {"fr": "# Français", "en": "# English"}
# Closing the record ends the session: the patient logs in again before reopening it.
FLOW = (*TASKS[: TASKS.index("close-record") + 1], "log-in", *TASKS[TASKS.index("reopen-record") :])


# --- the key language ---------------------------------------------------------------------------

# Key names of the guide -> Textual's key names.
NAMED_KEYS = {
    "enter": "enter",
    "esc": "escape",
    "tab": "tab",
    "shift+tab": "shift+tab",
    "up": "up",
    "down": "down",
    "left": "left",
    "right": "right",
    "home": "home",
    "end": "end",
    "pageup": "pageup",
    "pagedown": "pagedown",
    "space": "space",
    "backspace": "backspace",
    **{f"f{n}": f"f{n}" for n in range(1, 13)},
    **{f"ctrl+{c}": f"ctrl+{c}" for c in "abcdefghijklmnopqrstuvwxyz"},
}
PLACEHOLDERS = ("ins", "password", "code")
TOKEN = re.compile(r'"(?P<text>[^"\n]*)"|<(?P<secret>[^>\s]*)>|(?P<word>[^\s"<]+)')


class GuideError(ValueError):
    """The guide does not follow its own format."""


@dataclass(frozen=True)
class Key:
    kind: str  # "key" (a named key), "char" (one character), "text" (typed), "secret"
    value: str

    def __str__(self) -> str:
        if self.kind == "text":
            return f'"{self.value}"'
        if self.kind == "secret":
            return f"<{self.value}>"
        return self.value


def parse_keys(source: str) -> tuple[Key, ...]:
    """The keys of a sequence, line by line; ``#`` (where a key would start) begins a comment
    that runs to the end of the line."""
    keys: list[Key] = []
    for line in source.splitlines():
        pos = 0
        while True:
            while pos < len(line) and line[pos].isspace():
                pos += 1
            if pos == len(line) or line[pos] == "#":
                break
            m = TOKEN.match(line, pos)
            if m is None or (m.end() < len(line) and not line[m.end()].isspace()):
                raise GuideError(f"cannot read the keys at {line[pos : pos + 20]!r}")
            pos = m.end()
            keys.append(key_of(m))
    return tuple(keys)


def key_of(m: re.Match[str]) -> Key:
    if m.group("text") is not None:
        if not m.group("text"):
            raise GuideError('empty quoted text ""')
        return Key("text", m.group("text"))
    if m.group("secret") is not None:
        if m.group("secret") not in PLACEHOLDERS:
            raise GuideError(f"unknown placeholder <{m.group('secret')}>")
        return Key("secret", m.group("secret"))
    word = m.group("word")
    if word.lower() in NAMED_KEYS:
        return Key("key", word.lower())
    if len(word) == 1 and word.isprintable():
        return Key("char", word)
    raise GuideError(f"unknown key {word!r}")


# --- the guide ----------------------------------------------------------------------------------

FENCE = re.compile(
    r"^```(?P<kind>keys|says) +(?P<front>tui|reader|both)(?P<attrs>( +[a-z]+=[a-z-]+)*) *$"
)
SCREEN_LINE = {
    "fr": re.compile(r"^Écran : \*\*(?P<label>(?P<number>\d) — [^*]+)\*\*"),
    "en": re.compile(r"^Screen: \*\*(?P<label>(?P<number>\d) — [^*]+)\*\*"),
}


@dataclass
class Block:
    kind: str  # "keys" or "says"
    front: str
    task: str
    lang: str
    line: int  # where the block starts in the guide (1-based)
    body: list[str]
    screen: str = ""  # the screen number the task's section names ("" if none)
    screen_label: str = ""

    @property
    def keys(self) -> tuple[Key, ...]:
        return parse_keys("\n".join(self.body))

    def where(self) -> str:
        return f"docs/support.md line {self.line} ({self.kind} {self.front} task={self.task})"


def parse_guide(text: str) -> list[Block]:
    """Every ``keys``/``says`` block, with its language (the ``# Français`` / ``# English``
    part it is in, which must match its ``lang=``) and the screen line of its section."""
    blocks: list[Block] = []
    lang = ""
    screen = label = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() in SECTIONS.values():
            lang = next(k for k, v in SECTIONS.items() if v == line.strip())
            screen = label = ""
        elif line.startswith("## "):
            screen = label = ""
        elif lang and (m := SCREEN_LINE[lang].match(line)):
            screen, label = m.group("number"), m.group("label")
        if line.startswith("```keys") or line.startswith("```says"):
            m = FENCE.match(line)
            if m is None:
                raise GuideError(f"line {i + 1}: cannot read the fence {line!r}")
            attrs = dict(a.split("=", 1) for a in m.group("attrs").split())
            if set(attrs) != {"task", "lang"}:
                raise GuideError(f"line {i + 1}: a block needs task= and lang=, nothing else")
            if attrs["lang"] != lang:
                raise GuideError(f"line {i + 1}: lang={attrs['lang']} in the {lang!r} part")
            body: list[str] = []
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                body.append(lines[j])
                j += 1
            if j == len(lines):
                raise GuideError(f"line {i + 1}: the block is not closed")
            kind, front = m.group("kind"), m.group("front")
            if kind == "keys" and front == "both":
                raise GuideError(f"line {i + 1}: keys are for tui or for reader, not both")
            for one in FRONT_ENDS if front == "both" else (front,):
                content = [b.strip() for b in body if b.strip()]
                blocks.append(Block(kind, one, attrs["task"], lang, i + 1, content, screen, label))
            i = j
        i += 1
    return blocks


def guide_blocks() -> list[Block]:
    return parse_guide(GUIDE.read_text("utf-8"))


def block_map(blocks: list[Block], kind: str) -> dict[tuple[str, str, str], Block]:
    out: dict[tuple[str, str, str], Block] = {}
    for b in blocks:
        if b.kind == kind:
            if (b.lang, b.front, b.task) in out:
                raise GuideError(f"two {kind} blocks for {b.front} {b.task} in {b.lang}")
            out[(b.lang, b.front, b.task)] = b
    return out


def check_reader_keys(keys: tuple[Key, ...]) -> None:
    """Screen-reader mode reads lines: only typed things and Enter, ending with Enter."""
    for k in keys:
        if k.kind == "key" and k.value != "enter":
            raise GuideError(f"{k} is not a key of screen-reader mode: type an answer, then enter")
    if not keys or keys[-1] != Key("key", "enter"):
        raise GuideError("a screen-reader sequence ends with enter")


@pytest.fixture(autouse=True)
def keep_language() -> Any:
    """The TUI sets the process's language: put it back for the tests that follow."""
    before = i18n.language()
    yield
    i18n.set_language(before)


def label_in(lang: str, spec: catalogue.ScreenSpec) -> str:
    i18n.set_language(lang)
    return catalogue.screen_label(spec)


# --- what each task does to the record -------------------------------------------------------


def example(block: Block) -> str:
    """The first quoted text of a sequence: the demo data the task is about."""
    texts = [k.value for k in block.keys if k.kind == "text"]
    if not texts:
        raise GuideError(f"{block.where()}: the sequence names no document or practitioner")
    return texts[0]


def document(host: LiveHost, words: str) -> tuple[str, str]:
    """(id, labels) of the one document of the patient whose title holds ``words``."""
    rows = [
        (i, labels)
        for i, title in host.titles().items()
        if words.lower() in title.lower()
        for (labels,) in host.sql("SELECT labels FROM documents WHERE id = :i", {"i": i})
        if "INVISIBLE_PATIENT" not in labels
    ]
    assert len(rows) == 1, f"the guide's example {words!r} must name exactly one document: {rows}"
    return rows[0]


def practitioner(host: LiveHost, words: str) -> str:
    rows = host.sql(
        "SELECT rpps FROM practitioners WHERE lower(name) LIKE :w", {"w": f"%{words.lower()}%"}
    )
    assert len(rows) == 1, f"the guide's example {words!r} must name one practitioner: {rows}"
    return rows[0][0]


def count(host: LiveHost, query: str, **params: Any) -> int:
    return host.sql(query, params)[0][0]


def record_state(host: LiveHost) -> tuple[str, bool, bool]:
    status, bg, rg = host.sql(
        "SELECT status, refuses_break_glass, refuses_regulation FROM records WHERE ins=:i",
        {"i": host.ins},
    )[0]
    return status, bool(bg), bool(rg)


def patient_traced(host: LiveHost, action: str, document_id: str | None = None) -> int:
    query = "SELECT count(*) FROM trace_entries WHERE actor_role='patient' AND action=:a"
    if document_id is None:
        return count(host, query, a=action)
    return count(host, query + " AND document_id=:d", a=action, d=document_id)


@dataclass
class Effect:
    """What a task changes: ``before`` (with its preconditions) returns what ``after`` needs."""

    before: Callable[[LiveHost, Block], Any]
    after: Callable[[LiveHost, Block, Any], None]


def _login_before(host: LiveHost, block: Block) -> int:
    return count(host, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL")


def _login_after(host: LiveHost, block: Block, sessions: int) -> None:
    now = count(host, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
    assert now == sessions + 1, "no new session: the patient is not logged in"


def _read_before(host: LiveHost, block: Block) -> tuple[str, int]:
    doc_id, _labels = document(host, example(block))
    return doc_id, patient_traced(host, "document.download", doc_id)


def _read_after(host: LiveHost, block: Block, before: tuple[str, int]) -> None:
    doc_id, reads = before
    # The host traces the patient fetching the text ("document.download").
    assert patient_traced(host, "document.download", doc_id) > reads, "the text was not read"


def _hide_before(host: LiveHost, block: Block) -> str:
    doc_id, labels = document(host, example(block))
    assert "MASQUE_PS" not in labels, "the example document is hidden already"
    return doc_id


def _hide_after(host: LiveHost, block: Block, doc_id: str) -> None:
    labels = host.sql("SELECT labels FROM documents WHERE id=:d", {"d": doc_id})[0][0]
    assert "MASQUE_PS" in labels, "the document is not hidden from practitioners"


def _delete_before(host: LiveHost, block: Block) -> tuple[str, int]:
    doc_id, _labels = document(host, example(block))
    return doc_id, count(host, "SELECT count(*) FROM documents")


def _delete_after(host: LiveHost, block: Block, before: tuple[str, int]) -> None:
    doc_id, n = before
    assert count(host, "SELECT count(*) FROM documents WHERE id=:d", d=doc_id) == 0, (
        "the document is still there"
    )
    assert count(host, "SELECT count(*) FROM documents") == n - 1, "not exactly one was deleted"
    assert patient_traced(host, "document.delete", doc_id) == 1


def authorised(host: LiveHost, rpps: str) -> bool:
    return bool(count(host, "SELECT count(*) FROM authorisations WHERE rpps=:r", r=rpps))


def blocked(host: LiveHost, rpps: str) -> bool:
    return bool(count(host, "SELECT count(*) FROM blocks WHERE rpps=:r", r=rpps))


def _give_before(host: LiveHost, block: Block) -> str:
    rpps = practitioner(host, example(block))
    assert not authorised(host, rpps) and not blocked(host, rpps), "authorised already"
    return rpps


def _give_after(host: LiveHost, block: Block, rpps: str) -> None:
    assert authorised(host, rpps), "the practitioner has no authorisation"
    see_masked = host.sql("SELECT see_masked FROM authorisations WHERE rpps=:r", {"r": rpps})
    assert see_masked == [(False,)] or see_masked == [(0,)], "not ordinary access"


def _remove_before(host: LiveHost, block: Block) -> str:
    rpps = practitioner(host, example(block))
    assert authorised(host, rpps), "the practitioner was not authorised before"
    return rpps


def _remove_after(host: LiveHost, block: Block, rpps: str) -> None:
    assert not authorised(host, rpps), "the practitioner is still authorised"
    assert not blocked(host, rpps)


def _block_before(host: LiveHost, block: Block) -> str:
    rpps = practitioner(host, example(block))
    assert not blocked(host, rpps), "blocked already"
    return rpps


def _block_after(host: LiveHost, block: Block, rpps: str) -> None:
    assert blocked(host, rpps), "the practitioner is not blocked"
    # And the host refuses them, even in an emergency (when the demo gives them a credential).
    for who in host.creds["practitioners"]:
        if who["rpps"] == rpps and who.get("credential"):
            headers = {PRACTITIONER_HEADER: who["credential"]}
            r = host.http.get(
                f"/v1/ps/records/{host.ins}/documents",
                params={"mode": "break-glass", "reason": "Patient inconscient"},
                headers=headers,
            )
            # Told no more than "no_access" (as for an INS without a record); the trace says
            # why.
            assert r.status_code == 403 and r.json()["reason"] == "no_access", r.text
            assert host.sql(
                "SELECT t.reason FROM trace_entries t JOIN records r ON r.id = t.record_id "
                "WHERE r.ins = :ins ORDER BY t.seq DESC LIMIT 1",
                {"ins": host.ins},
            ) == [("blocked",)]


def attending_rpps(host: LiveHost) -> str | None:
    return host.sql("SELECT attending_rpps FROM records")[0][0]


def _attending_before(host: LiveHost, block: Block) -> tuple[str, str]:
    rpps = practitioner(host, example(block))
    former = attending_rpps(host)
    assert former is not None and former != rpps, "the doctor is the médecin traitant already"
    assert not authorised(host, former), "the médecin traitant had an authorisation already"
    return rpps, former


def _attending_after(host: LiveHost, block: Block, before: tuple[str, str]) -> None:
    rpps, former = before
    assert attending_rpps(host) == rpps, "the doctor is not the médecin traitant"
    # The default: the former médecin traitant keeps ordinary access.
    see_masked = host.sql("SELECT see_masked FROM authorisations WHERE rpps=:r", {"r": former})
    assert see_masked in ([(False,)], [(0,)]), "the former one has no ordinary access"


def _trace_before(host: LiveHost, block: Block) -> int:
    return patient_traced(host, "trace.read")


def _trace_after(host: LiveHost, block: Block, reads: int) -> None:
    assert patient_traced(host, "trace.read") > reads, "the access trace was not read"


def _refuse_before(host: LiveHost, block: Block) -> bool:
    status, bg, rg = record_state(host)
    assert status == "active" and not bg, "break-glass access is refused already"
    return rg


def _refuse_after(host: LiveHost, block: Block, rg: bool) -> None:
    assert record_state(host) == ("active", True, rg), "break-glass access is not refused"


def _status_is(wanted: str) -> Callable[[LiveHost, Block], None]:
    def before(host: LiveHost, block: Block) -> None:
        assert record_state(host)[0] == wanted, f"the record is not {wanted} before the task"

    return before


def _status_becomes(wanted: str) -> Callable[[LiveHost, Block, Any], None]:
    def after(host: LiveHost, block: Block, _before: Any) -> None:
        assert record_state(host)[0] == wanted, f"the record is not {wanted}"

    return after


def _erase_after(host: LiveHost, block: Block, _before: Any) -> None:
    assert record_state(host)[0] == "erased", "the record is not erased"
    assert count(host, "SELECT count(*) FROM documents") == 0, "documents are left"


EFFECTS: dict[str, Effect] = {
    "log-in": Effect(_login_before, _login_after),
    "read-document": Effect(_read_before, _read_after),
    "hide-document": Effect(_hide_before, _hide_after),
    "delete-document": Effect(_delete_before, _delete_after),
    "give-access": Effect(_give_before, _give_after),
    "remove-access": Effect(_remove_before, _remove_after),
    "block-practitioner": Effect(_block_before, _block_after),
    "change-attending": Effect(_attending_before, _attending_after),
    "see-trace": Effect(_trace_before, _trace_after),
    "refuse-emergency-access": Effect(_refuse_before, _refuse_after),
    "close-record": Effect(_status_is("active"), _status_becomes("closed")),
    "reopen-record": Effect(_status_is("closed"), _status_becomes("active")),
    "erase-record": Effect(_status_is("active"), _erase_after),
}


def typed(key: Key, host: LiveHost) -> str:
    """What a text or a placeholder types; a code is made when it is typed."""
    if key.kind == "text":
        return key.value
    if key.value == "ins":
        return host.ins
    if key.value == "password":
        return host.password
    return host.code()


@dataclass
class Step:
    """One task done in a run: what the app showed meanwhile, for the checks."""

    block: Block
    screens: set[str] = field(default_factory=set)  # the screens shown on the way
    lines: list[str] = field(default_factory=list)  # what the app said once the keys began


def check_step(step: Step, says: Block | None) -> None:
    """The screen the guide names was shown on the way, and what it says the patient gets came."""
    block = step.block
    assert block.screen_label in step.screens, (
        f"{block.where()}: the guide says the task is on screen {block.screen_label!r}; "
        f"its keys showed {sorted(step.screens)}"
    )
    if says is not None:
        for line in says.body:
            assert line in step.lines, (
                f"{says.where()}: the guide says the patient then gets {line!r}; "
                "the app said:\n" + "\n".join(step.lines[-30:])
            )


def start(
    host: LiveHost, blocks: list[Block], lang: str, front: str, task: str
) -> tuple[Block, Any, Block | None]:
    """The task's keys and says blocks, once its preconditions are checked on the host."""
    block = block_map(blocks, "keys")[(lang, front, task)]
    try:
        before = EFFECTS[task].before(host, block)
    except AssertionError as e:
        raise AssertionError(f"{block.where()}: before the task: {e}") from None
    return block, before, block_map(blocks, "says").get((lang, front, task))


def verify(host: LiveHost, block: Block, step: Step, before: Any, says: Block | None) -> None:
    try:
        EFFECTS[block.task].after(host, block, before)
    except AssertionError as e:
        keys_text = " ".join(str(k) for k in block.keys)
        raise AssertionError(
            f"{block.where()}: the keys {keys_text!r} did not do the task: {e}\n"
            "the app said:\n" + "\n".join(step.lines[-30:])
        ) from None
    check_step(step, says)


# --- the TUI, under Pilot ---------------------------------------------------------------------


class Tui:
    """The app under Pilot, pressed as a person presses keys."""

    def __init__(self, pilot: Any, host: LiveHost) -> None:
        self.pilot = pilot
        self.app = pilot.app
        self.host = host

    def screen_label(self) -> str | None:
        key = getattr(self.app.screen, "SCREEN_KEY", "")
        if key in catalogue.BY_KEY:
            return catalogue.screen_label(catalogue.BY_KEY[key])
        return None

    def busy(self) -> bool:
        from screens.base import StatusLine

        if any(not w.is_finished for w in self.app.workers):
            return True
        return any(s.has_class("status-wait") for s in self.app.screen.query(StatusLine))

    async def settle(self, timeout: float = 15.0) -> None:
        """Until the app waits for the patient: every message handled, no call running, nothing
        saying "wait" — three times in a row (a screen just pushed starts its call on mount)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 3:
            await self.pilot._wait_for_screen()
            await asyncio.sleep(0.005 if quiet else 0.02)
            quiet = 0 if self.busy() else quiet + 1
            if time.monotonic() > deadline:
                running = [f"{w.group}:{w.name}" for w in self.app.workers if not w.is_finished]
                raise AssertionError(f"the app is still busy after {timeout} s: {running}")

    def key_event(self, key: str) -> Any:
        """The event a key press makes, as ``Pilot.press`` makes it."""
        import unicodedata

        from textual import events
        from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(self.app)
        return event

    async def press(self, key: Key) -> None:
        """One key of the guide: a named key, a character, or each character of a text, sent
        to the app in order as a person types them; then wait until the app has done it all."""
        if key.kind in ("text", "secret"):
            names = list(typed(key, self.host))
        elif key.kind == "key":
            names = [NAMED_KEYS[key.value]]
        else:
            names = [key.value]
        for name in names:
            self.app._driver.send_message(self.key_event(name))
        await self.settle()

    def said(self, since: tuple[int, int]) -> list[str]:
        """The message log since ``since`` (its epoch and length: logging out empties it) and
        the status lines of the screen, as the patient reads them."""
        from screens.base import StatusLine

        names = {"done": i18n._("Done:"), "error": i18n._("Error:"), "warning": i18n._("Warning:")}
        epoch, first = since
        state = self.app.state
        messages = state.messages[first:] if state.epoch == epoch else state.messages
        lines = [" ".join(p for p in (names.get(m.kind, ""), m.text) if p) for m in messages]
        lines += [str(s.render()) for s in self.app.screen.query(StatusLine)]
        return lines

    def where_now(self) -> tuple[int, int]:
        return self.app.state.epoch, len(self.app.state.messages)

    async def do(self, block: Block) -> Step:
        step = Step(block)
        since = self.where_now()
        label = self.screen_label()  # where the task starts (the login screen, after closing)
        if label:
            step.screens.add(label)
        for key in block.keys:
            await self.press(key)
            label = self.screen_label()
            if label:
                step.screens.add(label)
            for line in self.said(since):
                if line not in step.lines:
                    step.lines.append(line)
        return step


def tui_flow(
    host: LiveHost, lang: str, tasks: tuple[str, ...] = FLOW, blocks: list[Block] | None = None
) -> None:
    """The guide's TUI sequences, one after the other, in one app: each task's keys, then its
    checks. The app as ``tuikit.make_app`` makes it, but without the INS pre-filled: the patient
    types it (the guide says what to skip when it is filled in)."""
    from screens.app import AppConfig, DmpApp

    blocks = guide_blocks() if blocks is None else blocks

    async def run() -> None:
        i18n.set_language(lang)
        app = DmpApp(AppConfig(host_url=host.url, lang=lang))
        async with app.run_test(size=(100, 30)) as pilot:
            tui = Tui(pilot, host)
            await tui.settle()
            for task in tasks:
                block, before, says = start(host, blocks, lang, "tui", task)
                step = await tui.do(block)
                verify(host, block, step, before, says)

    asyncio.run(run())


# --- screen-reader mode, under a pseudo-terminal ----------------------------------------------

QUESTION_END = (": ", "? ")


class Reader:
    """``dmptui --screen-reader`` in a pty: answer each question once it is asked."""

    def __init__(self, host: LiveHost, lang: str, tmp_path: Path) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path / "home"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "DMPTUI_DATA_DIR": str(tmp_path / "data" / "dmptui"),
            "DMPTUI_SAVE_DIR": str(tmp_path / "saved"),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
        }
        for name in ("home", "config", "data", "saved"):
            (tmp_path / name).mkdir(exist_ok=True)
        self.host = host
        self.out = ""
        self.mark = 0  # where the output of the next task starts
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "dmptui.entry.cli", "--screen-reader", "--host", host.url, "--lang", lang],
            env=env,
            cwd=str(ROOT),
            encoding="utf-8",
            timeout=15,
            dimensions=(50, 250),
        )
        i18n.set_language(lang)
        self.screen_word = i18n._("Screen:")

    def question(self, timeout: float = 15.0) -> str:
        """Wait until the app asks (a line left open, and nothing more comes); return it."""
        deadline = time.monotonic() + timeout
        while True:
            asking = self.out.endswith(QUESTION_END)
            try:
                self.out += self.child.read_nonblocking(65536, timeout=0.04 if asking else 0.5)
            except pexpect.TIMEOUT:
                if asking:
                    return self.out.rsplit("\n", 1)[-1]
            except pexpect.EOF:
                raise AssertionError("dmptui stopped; it said:\n" + self.out[-3000:]) from None
            if time.monotonic() > deadline:
                raise AssertionError("no question came; dmptui said:\n" + self.out[-3000:])

    def lines_since(self, start: int) -> list[str]:
        return [line.rstrip("\r") for line in self.out[start:].split("\n") if line.strip()]

    def do(self, block: Block) -> Step:
        """Each answer once its question is asked; then wait for the next question."""
        check_reader_keys(block.keys)
        step = Step(block)
        answer = ""
        first = last = -1
        for key in block.keys:
            if key == Key("key", "enter"):
                self.question()
                if first < 0:
                    first = self.out.rfind("\n") + 1  # the question answered first
                self.child.sendline(answer)
                answer = ""
                last = len(self.out)
            elif key.kind in ("text", "secret"):
                answer += typed(key, self.host)
            else:
                answer += key.value
        self.question()  # the task is done: the app asks what next
        step.lines = self.lines_since(first)
        # The screens shown on the way: since the previous task's last answer, whose screen this
        # task may start on (the login screen, after closing the record).
        prefix = f"{self.screen_word} "
        shown = self.lines_since(self.mark)
        step.screens = {line[len(prefix) :] for line in shown if line.startswith(prefix)}
        self.mark = last
        return step

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


def reader_flow(
    host: LiveHost,
    lang: str,
    tmp_path: Path,
    tasks: tuple[str, ...] = FLOW,
    blocks: list[Block] | None = None,
) -> None:
    """The guide's screen-reader sequences, one after the other, in one ``dmptui`` process."""
    blocks = guide_blocks() if blocks is None else blocks
    reader = Reader(host, lang, tmp_path)
    try:
        reader.question()
        for task in tasks:
            block, before, says = start(host, blocks, lang, "reader", task)
            step = reader.do(block)
            verify(host, block, step, before, says)
    finally:
        reader.close()


# --- the tests ------------------------------------------------------------------------------------


def test_the_key_language() -> None:
    assert parse_keys('1 2 / "sertraline" enter <code> shift+tab esc f1 ctrl+s') == (
        Key("char", "1"),
        Key("char", "2"),
        Key("char", "/"),
        Key("text", "sertraline"),
        Key("key", "enter"),
        Key("secret", "code"),
        Key("key", "shift+tab"),
        Key("key", "esc"),
        Key("key", "f1"),
        Key("key", "ctrl+s"),
    )
    assert parse_keys('"deux mots" ENTER   # un commentaire\n<ins> # enter\n# tout\ntab') == (
        Key("text", "deux mots"),
        Key("key", "enter"),
        Key("secret", "ins"),
        Key("key", "tab"),
    )
    assert parse_keys('"# n\'est pas un commentaire"') == (
        Key("text", "# n'est pas un commentaire"),
    )
    for bad in ('"not closed', "<pin>", "entr", "ctrl+", '""', 'a"b"', "<code>x", '"a\nb"'):
        with pytest.raises(GuideError):
            parse_keys(bad)
    check_reader_keys(parse_keys('m enter "x" enter'))
    for bad in ("m enter down enter", "m enter 2", ""):
        with pytest.raises(GuideError):
            check_reader_keys(parse_keys(bad))


def test_the_guide_format_is_checked() -> None:
    ok = "# Français\n## 1. X\nÉcran : **2 — Documents**\n```keys tui task=t lang=fr\n1 2\n```\n"
    (block,) = parse_guide(ok)
    assert (block.front, block.task, block.lang, block.screen, block.line) == (
        "tui",
        "t",
        "fr",
        "2",
        4,
    )
    assert block.screen_label == "2 — Documents"
    says = parse_guide(ok.replace("keys tui", "says both"))
    assert [b.front for b in says] == ["tui", "reader"]
    for bad in (
        ok.replace("lang=fr", "lang=en"),  # an English block in the French part
        ok.replace(" lang=fr", ""),
        ok.replace("keys tui", "keys both"),
        ok.replace("keys tui", "keys gui"),
        ok.replace("1 2\n```\n", "1 2\n"),  # not closed
    ):
        with pytest.raises(GuideError):
            parse_guide(bad)


def test_every_task_has_keys_for_both_front_ends_in_both_languages() -> None:
    blocks = guide_blocks()
    keys = block_map(blocks, "keys")
    says = block_map(blocks, "says")
    wanted = {(lang, front, task) for lang in LANGS for front in FRONT_ENDS for task in TASKS}
    assert set(keys) == wanted, (
        f"missing: {sorted(wanted - set(keys))}; unknown: {sorted(set(keys) - wanted)}"
    )
    assert set(says) <= wanted, f"says blocks for unknown tasks: {sorted(set(says) - wanted)}"
    for (lang, front, task), block in keys.items():
        sequence = block.keys  # every sequence is in the key language
        assert sequence, f"{block.where()}: no keys"
        if front == "reader":
            check_reader_keys(sequence)
        # The section names a real screen, as the app names it in the section's language.
        assert block.screen, f"{block.where()}: the section gives no screen id"
        spec = next(
            s for s in (catalogue.LOGIN, *catalogue.SCREENS) if str(s.number) == block.screen
        )
        assert block.screen_label == label_in(lang, spec), (
            f"{block.where()}: the screen is called {label_in(lang, spec)!r}, "
            f"not {block.screen_label!r}"
        )
        # One task, one screen: in both languages and both front ends.
        assert block.screen == keys[("en", "tui", task)].screen, block.where()
        # The same keys in both languages, but for the words typed (a confirmation word).
        other = keys[("en" if lang == "fr" else "fr", front, task)]
        assert [k.kind for k in sequence] == [k.kind for k in other.keys], block.where()
        assert [k for k in sequence if k.kind != "text"] == [
            k for k in other.keys if k.kind != "text"
        ], block.where()


def part(text: str, lang: str) -> str:
    """The French or the English part of the guide."""
    lines = text.splitlines()
    start = lines.index(SECTIONS[lang])
    ends = [i for i, line in enumerate(lines) if line in SECTIONS.values() and i > start]
    return "\n".join(lines[start : ends[0] if ends else len(lines)])


def test_the_screens_table_is_the_catalogue() -> None:
    """The guide's list of screens: every screen, its number and its name in each language."""
    text = GUIDE.read_text("utf-8")
    for lang in LANGS:
        rows = set(re.findall(r"^\| (\d+) \| ([^|]+) \|$", part(text, lang), re.M))
        wanted = {
            tuple(label_in(lang, s).split(" — ", 1)) for s in (catalogue.LOGIN, *catalogue.SCREENS)
        }
        assert rows == wanted, f"{lang}: the guide lists {sorted(rows)}"


@pytest.mark.parametrize("lang", LANGS)
def test_the_keys_that_work_everywhere(lang: str) -> None:
    """Each row of the table: the TUI binds the key to that action (by its description, in that
    language) and screen-reader mode takes the letters for the same action on every question."""
    from dmptui.reader.app import COMMANDS
    from screens.app import AppConfig, DmpApp

    i18n.set_language(lang)
    app = DmpApp(AppConfig(host_url="http://127.0.0.1:9", lang=lang))
    bound = app._bindings.key_to_bindings
    rows = re.findall(
        r"^\| (`[^`|]+`)? *\| ([^|]*)\| ([^|]+) \|$", part(GUIDE.read_text("utf-8"), lang), re.M
    )
    assert len(rows) >= 6, rows
    for tui, reader, label in rows:
        if tui:
            key = NAMED_KEYS[tui.strip("`")]
            # Bindings carry the English words, put into the language where they are shown.
            descriptions = {i18n._(b.description) for b in bound.get(key, [])}
            assert label in descriptions, f"{tui}: the TUI says {descriptions}, the guide {label!r}"
        for letter in re.findall(r"`([^`]+)`", reader):
            action = catalogue.ACTION_BY_ID[COMMANDS[letter]]
            assert i18n._(action.label) == label, f"{letter}: {action.id}, not {label!r}"


def test_a_wrong_screen_or_a_wrong_message_fails() -> None:
    """A guide that names the wrong screen, or a message that never came, does not pass."""
    block = Block("keys", "tui", "hide-document", "en", 1, ["1 2 m"], "3", "3 — Practitioners")
    says = Block("says", "tui", "hide-document", "en", 2, ["Done: hidden."], "3", "")
    step = Step(block, {"1 — Home", "2 — Documents"}, ["Done: hidden."])
    with pytest.raises(AssertionError, match="the guide says the task is on screen"):
        check_step(step, says)
    step.screens.add("3 — Practitioners")
    check_step(step, says)
    step.lines = ["Done: something else."]
    with pytest.raises(AssertionError, match="the guide says the patient then gets"):
        check_step(step, says)


@pytest.mark.parametrize("lang", LANGS)
def test_the_tui_does_what_the_guide_says(host: LiveHost, lang: str) -> None:
    tui_flow(host, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_screen_reader_mode_does_what_the_guide_says(
    host: LiveHost, lang: str, tmp_path: Path
) -> None:
    reader_flow(host, lang, tmp_path)


def test_a_guide_that_lies_fails(host: LiveHost, tmp_path: Path) -> None:
    """Keys that do not do the task fail, and say which task and which line of the guide."""
    blocks = guide_blocks()
    hide = block_map(blocks, "keys")[("en", "reader", "hide-document")]
    # "0" goes back to the list instead of "1", which hides the document.
    hide.body = ['m enter 2 enter s enter "sertraline" enter 1 enter 0 enter']
    with pytest.raises(AssertionError, match=r"task=hide-document\).*did not do the task"):
        reader_flow(host, "en", tmp_path, ("log-in", "hide-document"), blocks)
