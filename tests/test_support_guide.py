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
and a failure names the task and the guide's line.

The troubleshooting part (``## Dépannage`` / ``## Troubleshooting``, at the end of each
language's part) has one ``### `` section per situation. Its blocks name the situation
(``case=``), which the test makes on a fresh demo host before the app starts (``CASES``: a locked
login, a closed or erased record…, and the guide's tasks done before, such as logging in); the
section's ``Situation`` line says it in words. Its steps run in the guide's order in one app, each
with its own check (``EFFECTS``), its screen and its ``says`` lines, as the tasks do; a
``support`` block is the support desk's commands (``dmptui host support …``), run in a subprocess
against the same host with a support agent's credential. In a ``says`` line, ``<time>`` is any
time of day (the end of a pause), as the app or the command says it. Each section is one test per
front end and language: a few seconds each, spread by pytest-xdist."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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
# The patient's: the INS, the password, a fresh code of the authenticator app, a code received
# by SMS or by email (the newest the host sent), a new password they choose.
PLACEHOLDERS = ("ins", "password", "code", "sms-code", "email-code", "new-password")
NEW_PASSWORD = "Glycine-Orage-2027"
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
    r"^```(?P<kind>keys|says|support)(?: +(?P<front>tui|reader|both))?"
    r"(?P<attrs>( +[a-z]+=[a-z-]+)*) *$"
)
# The troubleshooting part of each language: sections (``### ``) that each start from their own
# situation, made on a fresh demo host by the test (``CASES``), named on a ``Situation`` line.
TROUBLE_PART = {"fr": "## Dépannage", "en": "## Troubleshooting"}
SITUATION_LINE = {
    "fr": re.compile(r"^Situation : \*\*(?P<words>[^*]+)\*\*"),
    "en": re.compile(r"^Situation: \*\*(?P<words>[^*]+)\*\*"),
}
SCREEN_LINE = {
    "fr": re.compile(r"^Écran : \*\*(?P<label>(?P<number>\d+) — [^*]+)\*\*"),
    "en": re.compile(r"^Screen: \*\*(?P<label>(?P<number>\d+) — [^*]+)\*\*"),
}


@dataclass
class Block:
    kind: str  # "keys", "says" or "support" (the support desk's commands)
    front: str
    task: str
    lang: str
    line: int  # where the block starts in the guide (1-based)
    body: list[str]
    screen: str = ""  # the screen number the task's section names ("" if none)
    screen_label: str = ""
    case: str = ""  # a troubleshooting section's situation ("": a task of the guide)
    situation: str = ""  # the words of its Situation line

    @property
    def keys(self) -> tuple[Key, ...]:
        return parse_keys("\n".join(self.body))

    def where(self) -> str:
        return f"docs/support.md line {self.line} ({self.kind} {self.front} task={self.task})"


def parse_guide(text: str) -> list[Block]:
    """Every ``keys``/``says``/``support`` block, with its language (the ``# Français`` /
    ``# English`` part it is in, which must match its ``lang=``) and the screen line of its
    section. In the troubleshooting part (``## Dépannage`` / ``## Troubleshooting``, to the end of
    the language's part) every block names its section's situation (``case=``), the same for the
    whole ``### `` section, which has a ``Situation`` line; support-desk blocks are only there."""
    blocks: list[Block] = []
    lang = ""
    screen = label = situation = ""
    trouble = False
    case = ""  # the case of the troubleshooting section, once a block names it
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() in SECTIONS.values():
            lang = next(k for k, v in SECTIONS.items() if v == line.strip())
            screen = label = situation = case = ""
            trouble = False
        elif lang and line.strip() == TROUBLE_PART[lang]:
            trouble = True
            screen = label = situation = case = ""
        elif line.startswith("## ") or (trouble and line.startswith("### ")):
            if line.startswith("## ") and trouble:
                raise GuideError(f"line {i + 1}: the troubleshooting part ends the {lang!r} part")
            screen = label = situation = case = ""
        elif lang and (m := SCREEN_LINE[lang].match(line)):
            screen, label = m.group("number"), m.group("label")
        elif trouble and (m := SITUATION_LINE[lang].match(line)):
            situation = m.group("words")
        if line.startswith(("```keys", "```says", "```support")):
            m = FENCE.match(line)
            if m is None:
                raise GuideError(f"line {i + 1}: cannot read the fence {line!r}")
            attrs = dict(a.split("=", 1) for a in m.group("attrs").split())
            wanted = {"case", "task", "lang"} if trouble else {"task", "lang"}
            if set(attrs) != wanted:
                raise GuideError(f"line {i + 1}: a block needs {' '.join(sorted(wanted))}=")
            if attrs["lang"] != lang:
                raise GuideError(f"line {i + 1}: lang={attrs['lang']} in the {lang!r} part")
            if trouble:
                if not situation:
                    raise GuideError(f"line {i + 1}: the section has no Situation line before")
                if case and attrs["case"] != case:
                    raise GuideError(f"line {i + 1}: case={attrs['case']} in the {case} section")
                case = attrs["case"]
            body: list[str] = []
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                body.append(lines[j])
                j += 1
            if j == len(lines):
                raise GuideError(f"line {i + 1}: the block is not closed")
            kind, front = m.group("kind"), m.group("front")
            if kind == "support":
                if front is not None or not trouble:
                    raise GuideError(
                        f"line {i + 1}: support blocks are for both front ends, in the "
                        "troubleshooting part"
                    )
                front = "both"
            elif front is None:
                raise GuideError(f"line {i + 1}: a {kind} block is for tui, reader or both")
            if kind == "keys" and front == "both":
                raise GuideError(f"line {i + 1}: keys are for tui or for reader, not both")
            for one in FRONT_ENDS if front == "both" else (front,):
                content = [b.strip() for b in body if b.strip()]
                block = Block(kind, one, attrs["task"], lang, i + 1, content, screen, label)
                block.case, block.situation = attrs.get("case", ""), situation
                blocks.append(block)
            i = j
        i += 1
    return blocks


def guide_blocks() -> list[Block]:
    return parse_guide(GUIDE.read_text("utf-8"))


def block_map(blocks: list[Block], kind: str, case: str = "") -> dict[tuple[str, str, str], Block]:
    """The blocks of one kind of the guide's tasks (or of one troubleshooting ``case``)."""
    out: dict[tuple[str, str, str], Block] = {}
    for b in blocks:
        if b.kind == kind and b.case == case:
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


def _asks_nothing_before(host: LiveHost, block: Block) -> int:
    return host.trace_size()


def _asks_nothing_after(host: LiveHost, block: Block, size: int) -> None:
    # Saying where the patient is needs nothing from the host: nothing was read nor changed.
    assert host.trace_size() == size, "the host was asked something"


def _practitioners_before(host: LiveHost, block: Block) -> int:
    return patient_traced(host, "practitioners.list")


def _practitioners_after(host: LiveHost, block: Block, lists: int) -> None:
    assert patient_traced(host, "practitioners.list") > lists, "screen 3 did not load"


def _login_closed_before(host: LiveHost, block: Block) -> int:
    assert record_state(host)[0] == "closed", "the record is not closed before the task"
    return _login_before(host, block)


def _login_closed_after(host: LiveHost, block: Block, sessions: int) -> None:
    _login_after(host, block, sessions)
    assert record_state(host)[0] == "closed", "logging in changed the record"


def _locked_before(host: LiveHost, block: Block) -> int:
    assert lock_ends(host), "logging in is not paused before the task"
    return _login_before(host, block)


def _still_locked_after(host: LiveHost, block: Block, sessions: int) -> None:
    now = count(host, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
    assert now == sessions, "a session was opened during the pause"
    assert lock_ends(host), "the pause ended"


def _support_traced(host: LiveHost, action: str) -> int:
    return count(
        host,
        "SELECT count(*) FROM trace_entries WHERE actor_role = 'support' AND action = :a "
        "AND outcome = 'allowed'",
        a=action,
    )


def _look_up_before(host: LiveHost, block: Block) -> int:
    return _support_traced(host, "support.lookup")


def _look_up_after(host: LiveHost, block: Block, looks: int) -> None:
    assert _support_traced(host, "support.lookup") == looks + 1, "no look-up in the trace"


def _unlock_before(host: LiveHost, block: Block) -> None:
    assert lock_ends(host), "logging in is not paused before the unlock"


def _unlock_after(host: LiveHost, block: Block, _before: Any) -> None:
    assert not lock_ends(host), "logging in is still paused"
    assert _support_traced(host, "support.unlock") == 1, "no unlock in the trace"


def _erased_before(host: LiveHost, block: Block) -> int:
    assert record_state(host)[0] == "erased", "the record is not erased before the task"
    return _login_before(host, block)


def _no_session_after(host: LiveHost, block: Block, sessions: int) -> None:
    now = count(host, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
    assert now == sessions, "a session was opened"


def _trace_left_before(host: LiveHost, block: Block) -> int:
    assert record_state(host)[0] == "erased", "the record is not erased before the task"
    return host.trace_size()


def _no_trace_left_after(host: LiveHost, block: Block, size: int) -> None:
    # An erased record has no trace to write to: the look-up adds nothing.
    assert host.trace_size() == size, "the look-up of an erased record was traced"
    assert record_state(host)[0] == "erased"


def totp_secret(host: LiveHost) -> str:
    """The record's authenticator secret, as the host holds it (sealed)."""
    from sqlalchemy import select

    from dmptui.host import crypto
    from dmptui.host.db import Record

    with host.app.state.host.sessions() as s:
        r = s.scalar(select(Record).where(Record.ins == host.ins))
        return str(crypto.open_totp(s, r.id, r.totp_secret_sealed))


def _reset_before(host: LiveHost, block: Block) -> int:
    assert host.password != NEW_PASSWORD, "the new password is the password already"
    return patient_traced(host, "password.reset")


def _reset_after(host: LiveHost, block: Block, resets: int) -> None:
    from dmptui.host import auth

    assert patient_traced(host, "password.reset") == resets + 1, "no password reset traced"
    (digest,) = host.sql("SELECT password_hash FROM records WHERE ins = :i", {"i": host.ins})[0]
    assert auth.verify_password(digest, NEW_PASSWORD), "the new password does not work"
    # From now on, the patient's password is the new one.
    host.creds = {**host.creds, "patient": {**host.creds["patient"], "password": NEW_PASSWORD}}


def _reenrol_before(host: LiveHost, block: Block) -> str:
    return totp_secret(host)


def _reenrol_after(host: LiveHost, block: Block, old: str) -> None:
    new = totp_secret(host)
    assert new != old, "the authenticator secret did not change"
    assert patient_traced(host, "authenticator.reenrol") >= 1, "no new authenticator traced"
    # The patient added it to the app of their new phone: its codes are the fresh ones now.
    host.creds = {**host.creds, "patient": {**host.creds["patient"], "totp_secret": new}}


STRANGER_DEVICE = "a-laptop-the-patient-never-had"
STRANGERS: dict[str, Any] = {}  # the host's URL: the stranger's logged-in client


def _stranger(host: LiveHost) -> None:
    """Someone who has the password and got a code logged in from a device of their own: the
    patient was told of a new device."""
    STRANGERS[host.url] = host.login(**{"X-Device-Id": STRANGER_DEVICE})
    assert STRANGERS[host.url].get("/v1/record").status_code == 200
    assert _open_sessions(host) == 1


def _open_sessions(host: LiveHost) -> int:
    return count(host, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL")


def _end_session_before(host: LiveHost, block: Block) -> int:
    assert _open_sessions(host) == 2, "not the stranger's session and the patient's"
    return patient_traced(host, "session.revoke")


def _end_session_after(host: LiveHost, block: Block, ends: int) -> None:
    assert _open_sessions(host) == 1, "the stranger's session was not ended, or the patient's was"
    assert patient_traced(host, "session.revoke") == ends + 1, "the end is not traced"
    # The one still open is the patient's (the app goes on), not the stranger's.
    assert STRANGERS.pop(host.url).get("/v1/record").status_code == 401


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
    # Troubleshooting.
    "where-am-i": Effect(_asks_nothing_before, _asks_nothing_after),
    "go-to-screen": Effect(_practitioners_before, _practitioners_after),
    "log-in-closed": Effect(_login_closed_before, _login_closed_after),
    "log-in-paused": Effect(_locked_before, _still_locked_after),
    "look-up": Effect(_look_up_before, _look_up_after),
    "unlock": Effect(_unlock_before, _unlock_after),
    "log-in-erased": Effect(_erased_before, _no_session_after),
    "look-up-erased": Effect(_trace_left_before, _no_trace_left_after),
    "reset-password": Effect(_reset_before, _reset_after),
    "new-authenticator": Effect(_reenrol_before, _reenrol_after),
    "end-session": Effect(_end_session_before, _end_session_after),
}


def typed(key: Key, host: LiveHost) -> str:
    """What a text or a placeholder types; a code is made when it is typed."""
    if key.kind == "text":
        return key.value
    if key.value == "ins":
        return host.ins
    if key.value == "password":
        return host.password
    if key.value == "new-password":
        return NEW_PASSWORD
    if key.value in ("sms-code", "email-code"):
        return sent_code(host, key.value.removesuffix("-code"))
    return host.code()


def sent_code(host: LiveHost, channel: str) -> str:
    """The code in the newest message the host sent by SMS or email, as the patient reads it."""
    found = re.search(r"\b(\d{6})\b", host.outbox_body(channel))
    assert found, f"no code in the {channel} message"
    return found.group(1)


@dataclass
class Step:
    """One task done in a run: what the app showed meanwhile, for the checks."""

    block: Block
    screens: set[str] = field(default_factory=set)  # the screens shown on the way
    lines: list[str] = field(default_factory=list)  # what the app said once the keys began


# In a says line, ``<time>``: a time as the app says it (the end of a pause, Paris time), or as
# the support desk's command prints it (UTC, ISO 8601).
TIME = r"(?:\d{1,2}(?: h \d\d|:\d\d)|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)"


def said(line: str, lines: list[str]) -> bool:
    """The guide's line is one of the lines the app said (``<time>``: any time of day)."""
    if "<time>" not in line:
        return line in lines
    pattern = re.compile(
        "".join(TIME if p == "<time>" else re.escape(p) for p in re.split(r"(<time>)", line))
    )
    return any(pattern.fullmatch(x) for x in lines)


def check_step(step: Step, says: Block | None) -> None:
    """The screen the guide names was shown on the way, and what it says the patient gets came."""
    block = step.block
    assert block.screen_label in step.screens, (
        f"{block.where()}: the guide says the task is on screen {block.screen_label!r}; "
        f"its keys showed {sorted(step.screens)}"
    )
    if says is not None:
        for line in says.body:
            assert said(line, step.lines), (
                f"{says.where()}: the guide says the patient then gets {line!r}; "
                "the app said:\n" + "\n".join(step.lines[-30:])
            )


def start(
    host: LiveHost, blocks: list[Block], lang: str, front: str, task: str, case: str = ""
) -> tuple[Block, Any, Block | None]:
    """The task's keys (or support-desk) and says blocks, once its preconditions are checked on
    the host."""
    found = block_map(blocks, "keys", case).get((lang, front, task))
    block = found or block_map(blocks, "support", case)[(lang, front, task)]
    try:
        before = EFFECTS[task].before(host, block)
    except AssertionError as e:
        raise AssertionError(f"{block.where()}: before the task: {e}") from None
    return block, before, block_map(blocks, "says", case).get((lang, front, task))


def verify(host: LiveHost, block: Block, step: Step, before: Any, says: Block | None) -> None:
    try:
        EFFECTS[block.task].after(host, block, before)
    except AssertionError as e:
        keys_text = (
            " ".join(block.body) if block.kind == "support" else " ".join(map(str, block.keys))
        )
        raise AssertionError(
            f"{block.where()}: the keys {keys_text!r} did not do the task: {e}\n"
            "the app said:\n" + "\n".join(step.lines[-30:])
        ) from None
    check_step(step, says)


# A task of a run: (case, task), the case "" for the guide's tasks.
Task = tuple[str, str]


def tasks_of(tasks: tuple[str | Task, ...]) -> list[Task]:
    return [t if isinstance(t, tuple) else ("", t) for t in tasks]


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
    host: LiveHost,
    lang: str,
    tasks: tuple[str | Task, ...] = FLOW,
    blocks: list[Block] | None = None,
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
            for case, task in tasks_of(tasks):
                block, before, says = start(host, blocks, lang, "tui", task, case)
                if block.kind == "support":
                    step = support_desk(host, block)
                else:
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
        self.answered = 0  # the output's length when the last answer was sent
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
            # Only a question asked after the last answer: the one it answered is still at the
            # end of the output until the answer's echo comes (late, on a busy machine).
            asking = len(self.out) > self.answered and self.out.endswith(QUESTION_END)
            try:
                self.out += self.child.read_nonblocking(65536, timeout=0.04 if asking else 0.5)
            except pexpect.TIMEOUT:
                if asking:
                    return self.out.rsplit("\n", 1)[-1]
            except pexpect.EOF:
                raise AssertionError("dmptui stopped; it said:\n" + self.out[-3000:]) from None
            if time.monotonic() > deadline:
                raise AssertionError("no question came; dmptui said:\n" + self.out[-3000:])

    def typed(self, key: Key) -> str:
        return typed(key, self.host) if key.kind in ("text", "secret") else key.value

    def lines_since(self, start: int) -> list[str]:
        return [line.rstrip("\r") for line in self.out[start:].split("\n") if line.strip()]

    def do(self, block: Block) -> Step:
        """Each answer once its question is asked; then wait for the next question."""
        check_reader_keys(block.keys)
        step = Step(block)
        answer: list[Key] = []
        first = last = -1
        for key in block.keys:
            if key == Key("key", "enter"):
                self.question()
                if first < 0:
                    first = self.out.rfind("\n") + 1  # the question answered first
                # Typed once asked: a code sent by SMS is sent by the answer before.
                self.child.sendline("".join(self.typed(k) for k in answer))
                answer = []
                last = self.answered = len(self.out)
            else:
                answer.append(key)
        self.question()  # the task is done: the app asks what next
        step.lines = self.lines_since(first)
        # The screens shown on the way: since the previous task's last answer, whose screen this
        # task may start on (the login screen, after closing the record).
        prefix = f"{self.screen_word} "
        shown = self.lines_since(self.mark)
        step.screens = {line[len(prefix) :] for line in shown if line.startswith(prefix)}
        # And the screen it starts on, when it is not said again (a login refused asks again).
        before = [x for x in self.out[: self.mark].split("\n") if x.startswith(prefix)]
        if before:
            step.screens.add(before[-1].rstrip("\r")[len(prefix) :])
        self.mark = last
        return step

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


def reader_flow(
    host: LiveHost,
    lang: str,
    tmp_path: Path,
    tasks: tuple[str | Task, ...] = FLOW,
    blocks: list[Block] | None = None,
) -> None:
    """The guide's screen-reader sequences, one after the other, in one ``dmptui`` process."""
    blocks = guide_blocks() if blocks is None else blocks
    reader = Reader(host, lang, tmp_path)
    try:
        reader.question()
        for case, task in tasks_of(tasks):
            block, before, says = start(host, blocks, lang, "reader", task, case)
            step = support_desk(host, block) if block.kind == "support" else reader.do(block)
            verify(host, block, step, before, says)
    finally:
        reader.close()


# --- the support desk's commands ---------------------------------------------------------------


SUPPORT_AGENT = "Léa Martin"
VARIABLE = re.compile(r"\$(?P<name>[A-Z_]+)|\$\{(?P<braced>[A-Z_]+)\}")


def support_credential(host: LiveHost) -> str:
    """The support agent's credential on this host (``dmptui host support add`` does the same,
    on the host's machine): made once per host."""
    from dmptui.host import support_desk

    if "support" not in host.creds:
        with host.app.state.host.tx() as s:
            _agent, credential = support_desk.add(s, SUPPORT_AGENT, host.clock())
        host.creds = {**host.creds, "support": credential}
    return str(host.creds["support"])


def support_desk(host: LiveHost, block: Block) -> Step:
    """A support block's commands, as the support desk types them (``dmptui host support …``),
    each run in a subprocess: ``<ins>`` is the patient's, ``$DMPTUI_HOST`` the host's address and
    ``$SUPPORT_CREDENTIAL`` the agent's own credential. What they print is what the desk reads."""
    step = Step(block, {block.screen_label})
    values = {"DMPTUI_HOST": host.url, "SUPPORT_CREDENTIAL": support_credential(host)}
    env = {**os.environ, "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT)}
    for line in block.body:
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] != "dmptui":
            raise GuideError(f"{block.where()}: a support command starts with dmptui: {line!r}")
        args = [
            host.ins
            if w == "<ins>"
            else VARIABLE.sub(lambda m: values[m.group("name") or m.group("braced")], w)
            for w in words[1:]
        ]
        done = subprocess.run(
            [sys.executable, "-m", "dmptui.entry.cli", *args],
            env=env,
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=60,
        )
        said = done.stdout.splitlines() + done.stderr.splitlines()
        step.lines += [x.strip() for x in said if x.strip()]
        assert done.returncode == 0, f"{block.where()}: {line!r} failed:\n" + "\n".join(said)
    return step


# --- troubleshooting: each section on its own host, from its own situation ----------------------


@dataclass(frozen=True)
class Case:
    """A troubleshooting section's situation: what the test makes on a fresh demo host before the
    app starts, and the guide's tasks the patient has done before the section's keys."""

    situation: Callable[[LiveHost], None]
    first: tuple[str, ...] = ()


def _nothing(host: LiveHost) -> None:
    pass


def _closed(host: LiveHost) -> None:
    """The patient closed the record (from this app or another one)."""
    client = host.login()
    host.step_up(client)
    assert client.post("/v1/record/close").status_code == 200  # and every session ends
    assert record_state(host)[0] == "closed"


def _locked(host: LiveHost) -> None:
    """Logging in is paused after wrong passwords typed from another device (a stranger's, or
    the patient's new phone: one that never logged in to the record)."""
    from dmptui.host import policy

    for _ in range(policy.FREE_TRIES):
        r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": "Pas-le-bon-2026"})
        assert r.status_code in (401, 429), r.text
    assert lock_ends(host), "logging in is not paused"


def lock_ends(host: LiveHost) -> datetime | None:
    """When the pause on the INS ends, as the support desk is told (None: not paused)."""
    from dmptui.host import lockout

    with host.app.state.host.sessions() as s:
        return lockout.locked_until(s, host.ins, host.clock())


def _erased(host: LiveHost) -> None:
    """The patient erased the record (from this app or another one)."""
    client = host.login()
    host.step_up(client)
    assert client.post("/v1/record/erase").status_code == 200  # and every session ends
    assert record_state(host)[0] == "erased"


CASES: dict[str, Case] = {
    "locked-account": Case(_locked),
    "forgotten-password": Case(_nothing),
    "lost-phone": Case(_nothing),
    "lost-screen": Case(_nothing, first=("log-in", "see-trace")),
    "closed-record": Case(_closed),
    "erased-record": Case(_erased),
    "unknown-device": Case(_stranger, first=("log-in",)),
}


def case_tasks(blocks: list[Block], case: str, lang: str, front: str) -> list[str]:
    """The tasks of a troubleshooting section, in the guide's order (keys and support)."""
    out: list[str] = []
    for b in blocks:
        if b.case == case and b.lang == lang and b.front == front and b.kind != "says":
            if b.task in out:
                raise GuideError(f"{b.where()}: the task comes twice in its section")
            out.append(b.task)
    return out


def guide_cases(blocks: list[Block]) -> list[str]:
    return list(dict.fromkeys(b.case for b in blocks if b.case))


def run_case(
    host: LiveHost,
    case: str,
    front: str,
    lang: str,
    tmp_path: Path,
    blocks: list[Block] | None = None,
) -> None:
    """One troubleshooting section in one front end and language: its situation made on the
    host, the tasks done before, then the section's own keys and support steps, each checked."""
    blocks = guide_blocks() if blocks is None else blocks
    CASES[case].situation(host)
    own = case_tasks(blocks, case, lang, front)
    assert own, f"the guide has no {front} keys for {case} in {lang}"
    tasks: tuple[Task, ...] = (*(("", t) for t in CASES[case].first), *((case, t) for t in own))
    if front == "tui":
        tui_flow(host, lang, tasks, blocks)
    else:
        reader_flow(host, lang, tmp_path, tasks, blocks)


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
    assert parse_keys("<sms-code> <email-code> <new-password>") == (
        Key("secret", "sms-code"),
        Key("secret", "email-code"),
        Key("secret", "new-password"),
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


def test_every_troubleshooting_section_is_run_in_both_front_ends_and_languages() -> None:
    """Each section of the troubleshooting part: a situation the test makes, the same tasks in
    both languages, keys for both front ends in the key language, a real screen per step, a check
    for each task, and says blocks only for its own tasks."""
    blocks = guide_blocks()
    cases = guide_cases(blocks)
    assert cases == list(CASES), (
        f"the guide's sections {cases}, the test's situations {list(CASES)}"
    )
    screens = {str(s.number): s for s in (catalogue.LOGIN, *catalogue.SCREENS)}
    for case in cases:
        keys = block_map(blocks, "keys", case)
        support = block_map(blocks, "support", case)
        steps: set[tuple[str, str, str]] = set()
        for front in FRONT_ENDS:
            tasks = {lang: case_tasks(blocks, case, lang, front) for lang in LANGS}
            assert tasks["fr"] == tasks["en"] and tasks["fr"], f"{case} {front}: {tasks}"
            for lang in LANGS:
                for task in tasks[lang]:
                    steps.add((lang, front, task))
                    assert task in EFFECTS, f"{case}: no check for the task {task}"
                    block = keys.get((lang, front, task)) or support[(lang, front, task)]
                    assert block.situation, f"{block.where()}: no Situation line"
                    assert block.screen in screens, f"{block.where()}: no screen id before it"
                    assert block.screen_label == label_in(lang, screens[block.screen]), (
                        f"{block.where()}: the screen is not called {block.screen_label!r}"
                    )
                    if block.kind == "support":
                        continue
                    assert block.keys, f"{block.where()}: no keys"
                    if front == "reader":
                        check_reader_keys(block.keys)
                    other = keys[("en" if lang == "fr" else "fr", front, task)]
                    assert [k for k in block.keys if k.kind != "text"] == [
                        k for k in other.keys if k.kind != "text"
                    ], block.where()
        says = set(block_map(blocks, "says", case))
        assert says <= steps, f"{case}: says blocks for no task: {sorted(says - steps)}"


def test_the_troubleshooting_format_is_checked() -> None:
    ok = (
        "# English\n## Troubleshooting\n### A. X\nSituation: **the record is closed**\n"
        "Screen: **0 — Log in**\n```keys reader case=closed task=t lang=en\nw enter\n```\n"
        "```support case=closed task=s lang=en\ndmptui host support x <ins>\n```\n"
    )
    keys, *support = parse_guide(ok)
    assert (keys.case, keys.situation, keys.screen, keys.kind) == (
        "closed",
        "the record is closed",
        "0",
        "keys",
    )
    assert [(b.kind, b.front, b.task) for b in support] == [
        ("support", "tui", "s"),
        ("support", "reader", "s"),
    ]
    assert block_map(parse_guide(ok), "keys") == {}  # not one of the guide's tasks
    for bad in (
        ok.replace(" case=closed task=t", " task=t"),  # no case in the troubleshooting part
        ok.replace("Situation: **the record is closed**\n", ""),
        ok.replace("case=closed task=s", "case=other task=s"),  # two cases in one section
        ok.replace("```support case", "```support tui case"),
        ok.replace("## Troubleshooting\n", "## 1. Log in\n"),  # support and case, not there
        ok + "## 14. More\n",  # the troubleshooting part ends the language's part
    ):
        with pytest.raises(GuideError):
            parse_guide(bad)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("front", FRONT_ENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_troubleshooting(host: LiveHost, case: str, front: str, lang: str, tmp_path: Path) -> None:
    """Each troubleshooting section, from its situation on its own fresh demo host."""
    run_case(host, case, front, lang, tmp_path)


def test_a_troubleshooting_section_that_lies_fails(host: LiveHost, tmp_path: Path) -> None:
    """A section whose keys do not do its step fails, naming the step and the guide's line."""
    blocks = guide_blocks()
    reopen = block_map(blocks, "keys", "closed-record")[("en", "reader", "reopen-record")]
    reopen.body = ["g 6 enter 2 enter 0 enter"]  # "0": cancel, instead of "1", confirm
    with pytest.raises(AssertionError, match=r"task=reopen-record\).*did not do the task"):
        run_case(host, "closed-record", "reader", "en", tmp_path, blocks)
