"""Generated histories against the real host over HTTP (a hypothesis state machine).

Each example starts a fresh host on a copy of the seeded demo database, then runs a random
history of patient and practitioner actions: deposits (some INVISIBLE_PATIENT), masks, grants
(with or without see_masked), revocations, blocks, the médecin traitant, oppositions,
practitioner reads in every mode, the clock moving on, maintenance, closure, reactivation and,
late in a history, erasure. A small model of the record predicts every answer (status, reason
and the trace entry it leaves), and after every step the invariants RULES.md demands "for every
history" are checked against the host (each list a real request: the practitioner lists and
direct reads take turns from step to step, so that a run stays well under a minute):

- a MASQUE_PS document never reaches a practitioner other than its author, the médecin traitant
  or one given the same rights, in any mode;
- a blocked practitioner gets nothing, in any mode;
- the break-glass and regulation oppositions act independently;
- an INVISIBLE_PATIENT document never reaches the patient before one calendar month is over;
- a closed record answers nobody but its patient's status read, reactivate and erase;
- every request that reaches the record appends exactly one trace entry, allowed or denied
  (and one that never reaches it, a malformed body or an unknown token, appends none).
"""

from __future__ import annotations

import calendar
import os
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from hostkit import Clock, LiveHost, copy_key, copy_sqlite, live_host
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from dmptui.host import crypto
from dmptui.host.app import run_maintenance
from dmptui.host.db import Authorisation, Block, Document, Practitioner, Record
from dmptui.schema import PRACTITIONER_HEADER

PG_URL = os.environ.get("DMPTUI_TEST_DATABASE_URL")

ROLES = ("author", "authorised", "attending", "emergency", "regulation", "pharmacist")
MODES = ("normal", "break-glass", "regulation")
DOC_TYPES = ("11490-0", "11488-4", "11502-2", "18748-4", "57833-6", "11369-6", "51855-5")
PATIENT_NOTE = "51855-5"
# RULES.md: a pharmacist sees prescriptions and lab results (and vaccinations, patient notes),
# not, say, psychiatric consultation notes. Doctors read every type.
PHARMACIST_READS = frozenset({"57833-6", "11502-2", "11369-6", "51855-5"})
MASQUE_PS = "MASQUE_PS"
INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
INVISIBLE_REPRESENTANTS_LEGAUX = "INVISIBLE_REPRESENTANTS_LEGAUX"
IDLE = timedelta(minutes=15)
ABSOLUTE = timedelta(hours=12)
FRESH = timedelta(minutes=5)
NOTICE_AFTER = timedelta(days=14)
MISSING_ID = "0" * 32
LISTS_PER_STEP = 3
# What a closed record still answers its patient (besides login and logout).
CLOSED_ANSWERS = frozenset({"record.read", "reactivate", "erase"})
STEP_UP = frozenset({"oppositions", "close", "reactivate", "erase"})


def one_month_after(moment: datetime) -> datetime:
    year, month = (moment.year, moment.month + 1) if moment.month < 12 else (moment.year + 1, 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def code_of(r: httpx.Response) -> str | None:
    if r.is_success:
        return None
    try:
        body = r.json()
    except ValueError:
        return r.text[:60]
    return body.get("reason") if r.status_code == 403 else body.get("error")


def _fresh_postgres(data_dir: Path, clock: Clock) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    from dmptui.host.context import Host
    from dmptui.host.db import migrate
    from dmptui.host.seed import seed_demo

    assert PG_URL
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(PG_URL)
    crypto.ensure_master_key(data_dir)
    h = Host(PG_URL, data_dir, clock=clock)
    creds = seed_demo(h)
    h.engine.dispose()
    return creds


@dataclass
class Doc:
    id: str
    type: str
    author: str
    deposited_at: datetime
    labels: set[str]
    notice_sent: bool = False

    @property
    def masked(self) -> bool:
        return MASQUE_PS in self.labels


@dataclass(frozen=True)
class Person:
    role: str
    rpps: str
    profession: str
    regulation: bool
    credential: str


@dataclass
class PatientSession:
    client: httpx.Client
    created: datetime
    last_seen: datetime
    fresh_until: datetime | None
    revoked: bool = False


@dataclass
class Expect:
    status: int
    code: str | None = None  # the 403 ``reason``, else the ``error``; None on success
    trace: int | None = 1  # entries the request appends; None: not checked here
    action: str | None = None


advances = st.one_of(
    st.builds(lambda m: timedelta(minutes=m), st.integers(1, 40)),
    st.builds(lambda h: timedelta(hours=h), st.integers(1, 36)),
    st.builds(lambda d: timedelta(days=d), st.integers(1, 20)),
)
# Before an action that needs a recent re-authentication: step up first, go as the session is
# (fresh for 5 minutes after a login), or let 6 minutes pass so that it is alive but stale.
confirmations = st.sampled_from(["step_up", "as_is", "stale"])
reasons = st.sampled_from([None, "", "   ", "Patiente inconsciente", "Détresse respiratoire"])


class Histories(RuleBasedStateMachine):
    template: ClassVar[tuple[Path, dict[str, Any]] | None] = None
    tmp_factory: ClassVar[pytest.TempPathFactory | None] = None

    def __init__(self) -> None:
        super().__init__()
        assert self.template is not None and self.tmp_factory is not None
        self.stack = ExitStack()
        self.steps = 0
        self.tick = 0
        self.closures = 0
        self.known_trace: int | None = None
        clock = Clock()
        work = self.tmp_factory.mktemp("history")
        if PG_URL:
            creds = _fresh_postgres(work / "data", clock)
            db_url, db_path = PG_URL, None
        else:
            template, creds = self.template
            db_path = work / "host.sqlite3"
            copy_sqlite(template, db_path)
            copy_key(template.parent, work / "data")
            db_url = f"sqlite:///{db_path}"
        live = live_host(db_url, db_path, work / "data", creds, clock)
        self.host: LiveHost = next(live)
        self.stack.callback(live.close)
        url = self.host.url
        self._load_model(creds)
        self.ps: dict[str, httpx.Client] = {}
        for role, p in self.people.items():
            c = httpx.Client(
                base_url=url,
                timeout=30,
                verify=False,  # plain HTTP on loopback: skip loading the CA bundle
                headers={PRACTITIONER_HEADER: p.credential},
            )
            self.stack.callback(c.close)
            self.ps[role] = c
        self.session: PatientSession | None = None
        self.login()

    def teardown(self) -> None:
        if self.session is not None:
            self.session.client.close()
        self.stack.close()

    # --- the model ---------------------------------------------------------------------------

    def _load_model(self, creds: dict[str, Any]) -> None:
        """The seeded starting point, read from the database once; from here on the model
        changes only by the machine's own rules."""
        by_role = {p["role"]: p for p in creds["practitioners"] if p["role"] in ROLES}
        with self.host.app.state.host.sessions() as s:
            record = s.scalar(select(Record))
            assert record is not None
            self.record_id = record.id
            self.status = record.status
            self.attending: str | None = record.attending_rpps
            self.refuses_bg = record.refuses_break_glass
            self.refuses_reg = record.refuses_regulation
            self.authorised: dict[str, bool] = {
                a.rpps: a.see_masked
                for a in s.scalars(
                    select(Authorisation).where(Authorisation.record_id == record.id)
                )
            }
            self.blocked: set[str] = set(
                s.scalars(select(Block.rpps).where(Block.record_id == record.id))
            )
            self.docs: dict[str, Doc] = {
                d.id: Doc(d.id, d.type, d.author_rpps, d.deposited_at, set(d.labels), d.notice_sent)
                for d in s.scalars(select(Document).where(Document.record_id == record.id))
            }
            self.people: dict[str, Person] = {}
            for role in ROLES:
                row = s.get(Practitioner, by_role[role]["rpps"])
                assert row is not None
                self.people[role] = Person(
                    role, row.rpps, row.profession, row.regulation, by_role[role]["credential"]
                )
        assert {p.profession for p in self.people.values()} == {"medecin", "pharmacien"}
        assert self.status == "active" and self.attending == self.people["attending"].rpps
        assert any(d.masked for d in self.docs.values())
        assert any(INVISIBLE_PATIENT in d.labels for d in self.docs.values())

    def now(self) -> datetime:
        return self.host.clock()

    def invisible_to_patient(self, doc: Doc) -> bool:
        return INVISIBLE_PATIENT in doc.labels and self.now() < one_month_after(doc.deposited_at)

    def patient_visible(self) -> set[str]:
        return {i for i, d in self.docs.items() if not self.invisible_to_patient(d)}

    def access(self, role: str, mode: str, reason: str | None = "Urgence") -> str:
        """Whether ``role`` may open the record in ``mode``: "ok" or the refusal's reason (the
        one the trace keeps). The request's own checks come first, whatever the record."""
        p = self.people[role]
        if mode == "break-glass" and not (reason and reason.strip()):
            return "reason_required"
        if mode == "regulation" and not p.regulation:
            return "not_regulation"
        if self.status == "erased":
            return "record_erased"
        if self.status == "closed":
            return "record_closed"
        if p.rpps in self.blocked:
            return "blocked"
        if mode == "normal":
            ok = p.rpps == self.attending or p.rpps in self.authorised
            return "ok" if ok else "not_authorised"
        if mode == "break-glass":
            return "break_glass_refused" if self.refuses_bg else "ok"
        return "regulation_refused" if self.refuses_reg else "ok"

    def refused(self, role: str, access: str, action: str | None = None) -> Expect:
        """The answer to a refused practitioner: the reason itself when it is about the request,
        or when the patient let this practitioner in (médecin traitant, authorised, not
        blocked, record not erased); else "no_access", exactly as for an INS without a record.
        Traced unless the record is erased."""
        p = self.people[role]
        standing = (
            self.status != "erased"
            and p.rpps not in self.blocked
            and (p.rpps == self.attending or p.rpps in self.authorised)
        )
        about_request = access in ("reason_required", "not_regulation")
        told = access if standing or about_request else "no_access"
        return Expect(403, told, 0 if self.status == "erased" else 1, action)

    def sees_masked(self, role: str, doc: Doc) -> bool:
        rpps = self.people[role].rpps
        return rpps in (doc.author, self.attending) or self.authorised.get(rpps, False)

    def reads_type(self, role: str, doc: Doc) -> bool:
        p = self.people[role]
        return p.rpps == doc.author or p.profession == "medecin" or doc.type in PHARMACIST_READS

    def read_outcome(self, role: str, mode: str, reason: str | None, doc_id: str) -> Expect:
        access = self.access(role, mode, reason)
        if access != "ok":
            return self.refused(role, access, "document.read")
        doc = self.docs.get(doc_id)
        if doc is None or (doc.masked and not self.sees_masked(role, doc)):
            return Expect(404, "not_found", 1, "document.read")
        if not self.reads_type(role, doc):
            # Changed: answered like a missing document (it was 403 profession_matrix).
            return Expect(404, "not_found", 1, "document.read")
        return Expect(200, None, 1, "document.read")

    def listed(self, role: str) -> set[str]:
        return {
            i
            for i, d in self.docs.items()
            if (not d.masked or self.sees_masked(role, d)) and self.reads_type(role, d)
        }

    # --- requests ----------------------------------------------------------------------------

    def trace_size(self) -> int:
        """The trace's size, as last seen after a request (anything appended since then is
        blamed on the next request), or counted afresh after logins, step-ups, maintenance."""
        if self.known_trace is None:
            self.known_trace = self.host.trace_size()
        return self.known_trace

    def req(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        expect: Expect,
        *,
        actor: str | None = None,  # an RPPS, or None for the patient
        mode: str = "normal",
        **kw: Any,
    ) -> httpx.Response:
        before = self.trace_size()
        r = client.request(method, path, **kw)
        after, *last = self.host.sql(
            "SELECT (SELECT count(*) FROM trace_entries), action, outcome, actor_role, "
            "actor_rpps, mode FROM trace_entries ORDER BY id DESC LIMIT 1"
        )[0]
        what = f"{method} {path} {kw.get('params') or ''}"
        got = (r.status_code, code_of(r))
        assert got == (expect.status, expect.code), (
            f"{what}: expected {(expect.status, expect.code)}, got {got}: {r.text[:300]}"
        )
        self.known_trace = after
        if expect.trace is not None:
            assert after - before == expect.trace, (
                f"{what} -> {r.status_code}: the trace grew by {after - before}, "
                f"expected {expect.trace}"
            )
        if expect.trace == 1:
            action, outcome, role, rpps, entry_mode = last
            assert outcome == ("allowed" if r.is_success else "denied"), (what, outcome)
            if expect.action:
                assert action == expect.action, (what, action)
            if actor is None:
                assert role == "patient", (what, role)
            else:
                assert (role, rpps, entry_mode) == ("practitioner", actor, mode), what
        return r

    def ps_req(
        self, role: str, method: str, path: str, expect: Expect, mode: str = "normal", **kw: Any
    ) -> httpx.Response:
        return self.req(
            self.ps[role], method, path, expect, actor=self.people[role].rpps, mode=mode, **kw
        )

    # --- the patient's session ---------------------------------------------------------------

    def alive(self, at: datetime | None = None) -> bool:
        s, now = self.session, at or self.now()
        return (
            s is not None
            and not s.revoked
            and now - s.last_seen <= IDLE
            and now - s.created <= ABSOLUTE
        )

    def fresh(self) -> bool:
        s = self.session
        return s is not None and s.fresh_until is not None and s.fresh_until > self.now()

    def login(self) -> None:
        before = self.trace_size()
        client = self.host.login()
        self.known_trace = self.host.trace_size()
        assert self.known_trace == before + 1, "a login appends one trace entry"
        if self.session is not None:
            self.session.client.close()
        now = self.now()
        self.session = PatientSession(client, now, now, now + FRESH)

    def ensure_patient(self) -> None:
        """Log in again when the model says the session has ended, after checking that the host
        agrees (401 session_expired, no trace entry)."""
        if self.alive():
            return
        if self.session is not None:
            self.req(self.session.client, "GET", "/v1/record", Expect(401, "session_expired", 0))
        self.login()

    def step_up(self) -> None:
        """host.step_up moves the clock 30 s on (a new TOTP step) before it asks."""
        self.ensure_patient()
        if not self.alive(self.now() + timedelta(seconds=30)):
            self.login()
        assert self.session is not None
        self.host.step_up(self.session.client)
        self.known_trace = None  # a step-up is not a read or change of the record: not pinned
        self.session.last_seen = self.now()
        self.session.fresh_until = self.now() + FRESH

    def prepare(self, how: str) -> None:
        if how == "step_up":
            self.step_up()
        elif how == "stale":
            self.ensure_patient()
            self.host.clock.advance(minutes=6)
        self.ensure_patient()

    def gate(self, action: str) -> Expect | None:
        """The refusals every patient action meets before its own rules."""
        if self.status == "closed" and action not in CLOSED_ANSWERS:
            return Expect(403, "record_closed", 1, action)
        if self.status == "active" and action == "reactivate":
            return Expect(403, "record_not_closed", 1, action)
        if action in STEP_UP and not self.fresh():
            return Expect(401, "step_up_required", 1, action)
        return None

    def patient(
        self, method: str, path: str, action: str, ok: Expect | None = None, **kw: Any
    ) -> httpx.Response:
        """A patient request, the session already ensured: the gate's refusal if any, else
        ``ok`` (default: 200 and one allowed entry)."""
        assert self.session is not None and self.alive()
        expect = self.gate(action) or ok or Expect(200, None, 1, action)
        r = self.req(self.session.client, method, path, expect, **kw)
        self.session.last_seen = self.now()
        return r

    def check_links(self, r: httpx.Response) -> None:
        if not r.is_success:
            return
        body = r.json()
        assert (body["attending"] or {}).get("rpps") == self.attending
        assert {
            a["practitioner"]["rpps"]: a["see_masked"] for a in body["authorised"]
        } == self.authorised
        assert {b["practitioner"]["rpps"] for b in body["blocked"]} == self.blocked

    def pick_doc(self, data: st.DataObject, likely: str = "any") -> str:
        kinds = [likely, likely, "any", "masked", "invisible", "new", "missing"]
        kind = data.draw(st.sampled_from(kinds))
        pools = {
            "masked": [i for i, d in self.docs.items() if d.masked],
            "invisible": [i for i, d in self.docs.items() if INVISIBLE_PATIENT in d.labels],
            "new": [i for i in self.docs if not i.startswith("demo")],
            "missing": [MISSING_ID],
        }
        pool = sorted(pools.get(kind) or self.docs or [MISSING_ID])
        return data.draw(st.sampled_from(pool))

    # --- rules: practitioners ----------------------------------------------------------------

    @rule(
        role=st.sampled_from(ROLES),
        doc_type=st.sampled_from(DOC_TYPES),
        invisible=st.booleans(),
        legal=st.booleans(),
    )
    def deposit(self, role: str, doc_type: str, invisible: bool, legal: bool) -> None:
        labels = [INVISIBLE_PATIENT] * invisible + [INVISIBLE_REPRESENTANTS_LEGAUX] * legal
        body = {"type": doc_type, "title": "Compte rendu", "content": "Texte.", "labels": labels}
        access = self.access(role, "normal")
        if access != "ok":
            expect = self.refused(role, access)
        elif doc_type == PATIENT_NOTE:
            expect = Expect(403, "patient_note_is_patients")
        elif self.people[role].profession != "medecin" and doc_type not in PHARMACIST_READS:
            expect = Expect(403, "profession_matrix")
        else:
            expect = Expect(201)
        expect.action = "document.deposit"
        now = self.now()
        r = self.ps_req(
            role, "POST", f"/v1/ps/records/{self.host.ins}/documents", expect, json=body
        )
        event(f"deposit -> {r.status_code}")
        if r.status_code == 201:
            out = r.json()
            assert sorted(out["labels"]) == sorted(labels)
            assert out["warning"] == ("invisible_to_patient" if invisible else None)
            self.docs[out["id"]] = Doc(
                out["id"], doc_type, self.people[role].rpps, now, set(labels)
            )

    @rule(role=st.sampled_from(ROLES), mode=st.sampled_from(MODES), reason=reasons, data=st.data())
    def practitioner_reads(
        self, role: str, mode: str, reason: str | None, data: st.DataObject
    ) -> None:
        params = {"mode": mode} | ({"reason": reason} if reason is not None else {})
        base = f"/v1/ps/records/{self.host.ins}"
        what = data.draw(st.sampled_from(["document", "document", "list", "notes"]))
        access = self.access(role, mode, reason)
        refused = self.refused(role, access)
        if what == "document":
            doc_id = self.pick_doc(data)
            expect = self.read_outcome(role, mode, reason, doc_id)
            r = self.ps_req(role, "GET", f"{base}/documents/{doc_id}", expect, mode, params=params)
            event(f"read {mode} -> {r.status_code} {code_of(r)}")
            if r.status_code == 200:
                doc, out = self.docs[doc_id], r.json()["document"]
                assert (MASQUE_PS in out["labels"]) == doc.masked, out["labels"]
                assert out["warning"] == (
                    "invisible_to_patient" if self.invisible_to_patient(doc) else None
                )
        elif what == "list":
            expect = refused if access != "ok" else Expect(200)
            expect.action = "documents.list"
            r = self.ps_req(
                role, "GET", f"{base}/documents", expect, mode, params=params | {"limit": "200"}
            )
            if r.status_code == 200:
                self.check_listing(role, mode, r)
        else:
            expect = refused if access != "ok" else Expect(200)
            expect.action = "notes.read"
            self.ps_req(role, "GET", f"{base}/notes", expect, mode, params=params)

    # --- rules: the patient ------------------------------------------------------------------

    def _set_mask(self, masked: bool, doc_id: str) -> None:
        self.ensure_patient()
        action = "document.mask" if masked else "document.unmask"
        doc = self.docs.get(doc_id)
        hidden = doc is None or self.invisible_to_patient(doc)
        ok = Expect(404, "not_found", 1, action) if hidden else None
        path = f"/v1/record/documents/{doc_id}/{'mask' if masked else 'unmask'}"
        r = self.patient("POST", path, action, ok)
        event(f"{action} -> {r.status_code} {code_of(r)}")
        if r.is_success:
            assert doc is not None
            if masked:
                doc.labels.add(MASQUE_PS)
            else:
                doc.labels.discard(MASQUE_PS)  # and only it: labels combine
            expected = set(doc.labels) - {INVISIBLE_PATIENT}  # revealed: no longer meaningful
            assert set(r.json()["labels"]) == expected

    @precondition(lambda self: self.status != "erased")
    @rule(data=st.data())
    def mask(self, data: st.DataObject) -> None:
        self._set_mask(True, self.pick_doc(data))

    @precondition(lambda self: self.status != "erased")
    @rule(data=st.data())
    def unmask(self, data: st.DataObject) -> None:
        self._set_mask(False, self.pick_doc(data, "masked"))

    @precondition(lambda self: self.status != "erased")
    @rule(role=st.sampled_from(ROLES), see_masked=st.booleans(), with_body=st.booleans())
    def grant(self, role: str, see_masked: bool, with_body: bool) -> None:
        self.ensure_patient()
        rpps = self.people[role].rpps
        ok = Expect(403, "blocked", 1, "authorisation.grant") if rpps in self.blocked else None
        body = {"json": {"see_masked": see_masked}} if with_body or see_masked else {}
        r = self.patient(
            "PUT", f"/v1/record/authorisations/{rpps}", "authorisation.grant", ok, **body
        )
        if r.is_success:
            self.authorised[rpps] = see_masked
        event(f"grant see_masked={see_masked} -> {r.status_code} {code_of(r)}")
        self.check_links(r)

    @precondition(lambda self: self.status != "erased")
    @rule(role=st.sampled_from(ROLES))
    def revoke(self, role: str) -> None:
        self.ensure_patient()
        rpps = self.people[role].rpps
        ok = None if rpps in self.authorised else Expect(404, "not_found")
        r = self.patient("DELETE", f"/v1/record/authorisations/{rpps}", "authorisation.revoke", ok)
        if r.is_success:
            del self.authorised[rpps]
        self.check_links(r)

    @precondition(lambda self: self.status != "erased")
    @rule(role=st.sampled_from(ROLES))
    def block(self, role: str) -> None:
        self.ensure_patient()
        rpps = self.people[role].rpps
        attending = rpps == self.attending
        ok = Expect(403, "attending_cannot_be_blocked", 1, "block") if attending else None
        r = self.patient("PUT", f"/v1/record/blocks/{rpps}", "block", ok)
        event(f"block -> {r.status_code} {code_of(r)}")
        if r.is_success:
            self.blocked.add(rpps)
            self.authorised.pop(rpps, None)  # a block ends any authorisation
        self.check_links(r)

    @precondition(lambda self: self.status != "erased")
    @rule(role=st.sampled_from(ROLES))
    def unblock(self, role: str) -> None:
        self.ensure_patient()
        rpps = self.people[role].rpps
        ok = None if rpps in self.blocked else Expect(404, "not_found")
        r = self.patient("DELETE", f"/v1/record/blocks/{rpps}", "unblock", ok)
        if r.is_success:
            self.blocked.discard(rpps)
        self.check_links(r)

    def change_attending(self, new: str | None, keeps: bool) -> None:
        """The former médecin traitant, if another one (or none) takes their place, keeps
        ordinary access (an authorisation of their own, or a new one without the hidden
        documents) or, if the patient chose so, loses all access."""
        former = self.attending
        if former is not None and former != new:
            if keeps:
                self.authorised.setdefault(former, False)
            else:
                self.authorised.pop(former, None)
        self.attending = new

    @staticmethod
    def keeps_body(keeps: bool | None) -> dict[str, Any]:
        return {} if keeps is None else {"json": {"previous_keeps_access": keeps}}

    @precondition(lambda self: self.status != "erased")
    @rule(role=st.sampled_from(ROLES), keeps=st.none() | st.booleans())
    def designate_attending(self, role: str, keeps: bool | None) -> None:
        self.ensure_patient()
        p = self.people[role]
        ok = None
        if p.rpps in self.blocked:
            ok = Expect(403, "blocked", 1, "attending.designate")
        elif p.profession != "medecin":
            ok = Expect(403, "attending_must_be_doctor", 1, "attending.designate")
        r = self.patient(
            "PUT",
            f"/v1/record/attending/{p.rpps}",
            "attending.designate",
            ok,
            **self.keeps_body(keeps),
        )
        event(f"designate keeps={keeps} -> {r.status_code} {code_of(r)}")
        if r.is_success:
            self.change_attending(p.rpps, keeps is not False)
        self.check_links(r)

    @precondition(lambda self: self.status != "erased")
    @rule(keeps=st.none() | st.booleans())
    def clear_attending(self, keeps: bool | None) -> None:
        self.ensure_patient()
        r = self.patient(
            "DELETE", "/v1/record/attending", "attending.clear", **self.keeps_body(keeps)
        )
        event(f"clear keeps={keeps} -> {r.status_code} {code_of(r)}")
        if r.is_success:
            self.change_attending(None, keeps is not False)
        self.check_links(r)

    @precondition(lambda self: self.status != "erased")
    @rule(break_glass=st.booleans(), regulation=st.booleans(), how=confirmations)
    def oppositions(self, break_glass: bool, regulation: bool, how: str) -> None:
        self.prepare(how)
        body = {"break_glass": break_glass, "regulation": regulation}
        r = self.patient("PUT", "/v1/record/oppositions", "oppositions", json=body)
        event(f"oppositions -> {r.status_code} {code_of(r)}")
        if r.is_success:
            assert r.json() == body
            self.refuses_bg, self.refuses_reg = break_glass, regulation

    @precondition(lambda self: self.status == "active" and self.closures < 2)
    @rule(how=confirmations)
    def close(self, how: str) -> None:
        """At most twice per history: a closed record refuses nearly everything, and histories
        spent mostly closed would test little else."""
        self.prepare(how)
        r = self.patient("POST", "/v1/record/close", "close")
        event(f"close -> {r.status_code} {code_of(r)}")
        if r.is_success:
            assert r.json()["status"] == "closed"
            self.status = "closed"
            self.closures += 1
            assert self.session is not None
            self.session.revoked = True  # closing ends every session

    def _reactivate(self, how: str) -> None:
        self.prepare(how)
        r = self.patient("POST", "/v1/record/reactivate", "reactivate")
        event(f"reactivate -> {r.status_code} {code_of(r)}")
        if r.is_success:
            assert r.json()["status"] == "active"
            self.status = "active"

    @precondition(lambda self: self.status != "erased")
    @rule(how=confirmations)
    def reactivate(self, how: str) -> None:
        """On an active record too: refused (record_not_closed)."""
        self._reactivate(how)

    @precondition(lambda self: self.status == "closed")
    @rule(how=confirmations)
    def reopen(self, how: str) -> None:
        """Reactivate again, so that a closed record is reopened sooner."""
        self._reactivate(how)

    @precondition(lambda self: self.status != "erased" and self.steps >= 20)
    @rule()
    def erase(self) -> None:
        """Late in a history only: nothing is left to check afterwards but the refusals."""
        self.step_up()
        assert self.session is not None
        r = self.patient("POST", "/v1/record/erase", "erase", Expect(200, None, None))
        assert r.json()["status"] == "erased"
        assert self.host.sql(
            "SELECT action, outcome FROM trace_entries WHERE record_id = :r", {"r": self.record_id}
        ) == [("erase", "allowed")]
        self.status = "erased"
        self.session.revoked = True
        self.docs.clear()
        self.authorised.clear()
        self.blocked.clear()
        self.attending = None
        self.req(self.session.client, "GET", "/v1/record", Expect(401, "session_expired", 0))
        # Changed with issue 12: the right password learns the record and its account are gone
        # (410); a wrong one is answered as for an INS without a record.
        login = {"ins": self.host.ins, "password": self.host.password}
        self.req(
            self.host.http, "POST", "/v1/auth/login", Expect(410, "account_erased", 0), json=login
        )
        wrong = {"ins": self.host.ins, "password": "Pas-le-bon-mot-2026"}
        self.req(
            self.host.http,
            "POST",
            "/v1/auth/login",
            Expect(401, "invalid_credentials", 0),
            json=wrong,
        )
        event("erased")

    # --- rules: time, maintenance, requests that never reach the record ----------------------

    @rule(delta=advances)
    def advance(self, delta: timedelta) -> None:
        self.host.clock.advance(seconds=delta.total_seconds())

    @rule()
    def maintenance(self) -> None:
        """The daily duties: a document still invisible two weeks after deposit is announced to
        the patient, once, with one trace entry (by the system)."""
        now = self.now()
        due = [
            d
            for d in self.docs.values()
            if self.status == "active"
            and not d.notice_sent
            and self.invisible_to_patient(d)
            and now >= d.deposited_at + NOTICE_AFTER
        ]
        before = self.trace_size()
        run_maintenance(self.host.app.state.host, None)
        self.known_trace = self.host.trace_size()
        assert self.known_trace - before == len(due)
        for d in due:
            d.notice_sent = True
        event(f"notices sent: {len(due)}")

    @rule(data=st.data())
    def never_reaches_the_record(self, data: st.DataObject) -> None:
        ins, nobody = self.host.ins, Expect(401, "unauthenticated", 0)
        invalid = Expect(422, "invalid_input", 0)
        client = self.session.client if self.session else self.host.http
        author = self.people["author"].rpps
        calls = [
            (client, "PUT", "/v1/record/oppositions", invalid, {"json": {"break_glass": "oui"}}),
            (
                client,
                "PUT",
                f"/v1/record/authorisations/{author}",
                invalid,
                {"json": {"see_masked": True, "forever": True}},
            ),
            (client, "PUT", "/v1/record/blocks/12345678901", invalid, {}),
            (client, "PUT", "/v1/record/notes", invalid, {"json": {"text": "a\x07"}}),
            (self.host.http, "GET", "/v1/record", nobody, {}),
            (
                self.host.http,
                "GET",
                "/v1/record/documents",
                Expect(401, "session_expired", 0),
                {"headers": {"Authorization": "Bearer not-a-token"}},
            ),
            (
                self.ps["author"],
                "POST",
                f"/v1/ps/records/{ins}/documents",
                invalid,
                {"json": {"type": "0000-0", "title": "x", "content": "y"}},
            ),
            (
                self.ps["author"],
                "POST",
                f"/v1/ps/records/{ins}/documents",
                invalid,
                {"json": {"type": "11488-4", "title": "x", "content": "y", "labels": [MASQUE_PS]}},
            ),
            (self.ps["author"], "GET", "/v1/ps/records/123/documents", invalid, {}),
            (
                self.ps["author"],
                "GET",
                f"/v1/ps/records/{ins}/documents",
                invalid,
                {"params": {"limit": "500"}},
            ),
            (
                self.host.http,
                "GET",
                f"/v1/ps/records/{ins}/documents",
                nobody,
                {"headers": {PRACTITIONER_HEADER: "cps-forged"}},
            ),
        ]
        client, method, path, expect, kw = data.draw(st.sampled_from(calls))
        self.req(client, method, path, expect, **kw)

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def count_steps(self) -> None:
        self.steps += 1
        self.tick += 1

    def check_listing(self, role: str, mode: str, r: httpx.Response) -> None:
        got = {d["id"] for d in r.json()["items"]}
        leaked = {
            i for i in got if self.docs[i].masked and not self.sees_masked(role, self.docs[i])
        }
        assert not leaked, f"MASQUE_PS documents reach {role} in {mode} mode: {leaked}"
        assert got == self.listed(role), (role, mode, got ^ self.listed(role))
        for d in r.json()["items"]:
            doc = self.docs[d["id"]]
            assert (MASQUE_PS in d["labels"]) == doc.masked
            assert (INVISIBLE_PATIENT in d["labels"]) == (INVISIBLE_PATIENT in doc.labels)
            warning = "invisible_to_patient" if self.invisible_to_patient(doc) else None
            assert d["warning"] == warning

    @invariant()
    def practitioners_see_what_the_rules_allow(self) -> None:
        """At each step, the next LISTS_PER_STEP (practitioner, mode) pairs of the pool, in
        turn (all 14 within five steps), list the record; the answer is the model's, masked
        documents left out. (All 18 after every step would take minutes: each list is a real
        request to the host.)"""
        base = f"/v1/ps/records/{self.host.ins}/documents"
        pairs = [(role, mode) for mode in MODES[:2] for role in ROLES]
        pairs += [("regulation", "regulation"), ("emergency", "regulation")]
        for k in range(LISTS_PER_STEP):
            role, mode = pairs[(self.tick * LISTS_PER_STEP + k) % len(pairs)]
            reason = "Urgence vitale" if mode == "break-glass" else None
            params = {"mode": mode, "limit": "200"} | ({"reason": reason} if reason else {})
            access = self.access(role, mode, reason)
            if access == "ok":
                expect = Expect(200, None, 1, "documents.list")
            else:
                expect = self.refused(role, access)
            r = self.ps_req(role, "GET", base, expect, mode, params=params)
            if r.status_code == 200:
                self.check_listing(role, mode, r)

    @invariant()
    def emergency_access_follows_the_patients_choices(self) -> None:
        """At every step: the emergency doctor reads a document in break-glass mode and the
        regulation doctor in regulation mode, each answered by their own opposition only (and
        by blocks and closure); every blocked practitioner, in a mode that turns from step to
        step, is refused as blocked."""
        base = f"/v1/ps/records/{self.host.ins}/documents"
        visible = sorted(i for i, d in self.docs.items() if not d.masked)
        doc_id = visible[0] if visible else MISSING_ID
        tries = [("emergency", "break-glass"), ("regulation", "regulation")]
        tries += [
            (role, MODES[self.tick % len(MODES)])
            for role, p in self.people.items()
            if p.rpps in self.blocked and role not in ("emergency", "regulation")
        ]
        for role, mode in tries:
            reason = "Polytraumatisme" if mode == "break-glass" else None
            params = {"mode": mode} | ({"reason": reason} if reason else {})
            expect = self.read_outcome(role, mode, reason, doc_id)
            if self.people[role].rpps in self.blocked:
                # Changed: blocked is no standing, told "no_access" (it was "blocked").
                assert expect.code in ("no_access", "not_regulation")
            self.ps_req(role, "GET", f"{base}/{doc_id}", expect, mode, params=params)

    @invariant()
    def masked_documents_answer_like_missing_ones(self) -> None:
        """One masked document per step (in turn), read by a practitioner not entitled to it in
        a mode that opens the record to them (in turn): 404, exactly like a missing document
        (compared every third step)."""
        masked = sorted(i for i, d in self.docs.items() if d.masked)
        if not masked:
            return
        doc = self.docs[masked[self.tick % len(masked)]]
        readers = [
            (role, mode)
            for role in ROLES
            for mode in MODES
            if not self.sees_masked(role, doc) and self.access(role, mode) == "ok"
        ]
        if not readers:
            return
        role, mode = readers[self.tick % len(readers)]
        base = f"/v1/ps/records/{self.host.ins}/documents"
        params = {"mode": mode} | ({"reason": "Urgence"} if mode == "break-glass" else {})
        expect = Expect(404, "not_found", 1, "document.read")
        hidden = self.ps_req(role, "GET", f"{base}/{doc.id}", expect, mode, params=params)
        if self.tick % 3 == 0:
            missing = self.ps_req(role, "GET", f"{base}/{MISSING_ID}", expect, mode, params=params)
            assert hidden.json() == missing.json()

    @precondition(lambda self: self.status != "erased")
    @invariant()
    def patient_sees_what_the_rules_allow(self) -> None:
        """The patient's document list, at every step, is exactly the documents not (or no
        longer) INVISIBLE_PATIENT. Steps alternate between the record's status read (status,
        oppositions, médecin traitant, counts) and reading a hidden document directly (404).
        A closed record: the status read, and one other action per step, in turn, refused."""
        self.ensure_patient()
        if self.status == "closed":
            r = self.patient("GET", "/v1/record", "record.read").json()
            assert r["status"] == "closed"
            assert r["counts"] == {} and r["attending"] is None  # nothing more to say
            some = [
                ("GET", "/v1/record/documents", "documents.list"),
                ("GET", "/v1/record/trace", "trace.read"),
                ("GET", "/v1/record/notes", "notes.read"),
                ("GET", "/v1/record/practitioners", "practitioners.list"),
                ("GET", "/v1/record/notifications", "notifications.read"),
                ("POST", f"/v1/record/documents/{min(self.docs)}/mask", "document.mask"),
                ("PUT", "/v1/record/oppositions", "oppositions"),
            ]
            method, path, action = some[self.tick % len(some)]
            body = {"json": {"break_glass": True, "regulation": True}} if method == "PUT" else {}
            self.patient(method, path, action, **body)
            return
        visible = self.patient_visible()
        items = self.patient(
            "GET", "/v1/record/documents", "documents.list", params={"limit": "200"}
        ).json()["items"]
        got = {d["id"] for d in items}
        early = got - visible
        assert not early, f"INVISIBLE_PATIENT documents reach the patient early: {early}"
        assert got == visible, got ^ visible
        for d in items:
            assert set(d["labels"]) == self.docs[d["id"]].labels - {INVISIBLE_PATIENT}
        hidden = sorted(set(self.docs) - visible)
        if hidden and self.tick % 2:
            doc_id = hidden[self.tick // 2 % len(hidden)]
            path, action = (
                (f"/v1/record/documents/{doc_id}", "document.read")
                if self.tick // 2 % 2
                else (f"/v1/record/documents/{doc_id}/content", "document.download")
            )
            self.patient("GET", path, action, Expect(404, "not_found", 1, action))
            return
        r = self.patient("GET", "/v1/record", "record.read").json()
        assert r["status"] == "active"
        assert r["oppositions"] == {"break_glass": self.refuses_bg, "regulation": self.refuses_reg}
        assert r["counts"]["documents"] == len(visible)
        assert r["counts"]["authorised"] == len(self.authorised)
        assert r["counts"]["blocked"] == len(self.blocked)
        assert (r["attending"] or {}).get("rpps") == self.attending


SETTINGS = settings(
    max_examples=8,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_generated_histories(
    demo_template: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    Histories.template = demo_template
    Histories.tmp_factory = tmp_path_factory
    try:
        run_state_machine_as_test(Histories, settings=SETTINGS)
    finally:
        Histories.template = None
        Histories.tmp_factory = None
