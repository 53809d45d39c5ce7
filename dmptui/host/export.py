"""The patient's whole record as one zip archive that can be checked offline (GDPR art. 20).

The archive holds:

- ``record.fhir.json``: a FHIR R4 Bundle (type ``collection``): the Patient (the INS in its
  official system), one Practitioner per practitioner named anywhere in it (RPPS), one
  DocumentReference per document the patient sees (LOINC type, author, dates, a security label
  where it is masked, the original beside it), Consent resources for the authorisations, the
  blocks, the médecin traitant and the two emergency choices, and one AuditEvent per trace entry
  the patient sees;
- ``documents/<id>.<ext>``: each original, byte for byte;
- ``trace/entries.jsonl``: those trace entries as the API shows them (the Merkle leaves);
- ``trace/proofs.jsonl``: for each, its inclusion proof in the checkpoint's tree;
- ``trace/checkpoint.json``: the trace's signed checkpoint, taken for this export;
- ``trace/key.json``: the host's signing key and the endorsements of every rotation;
- ``manifest.json`` and ``manifest.sig``: the SHA-256 and size of every other file, signed by
  the same key (``dmptui.export_check.MANIFEST_CONTEXT``), so that a byte changed anywhere is
  found.

It is written as it is read (``zipfile`` on a stream: data descriptors, no seeking), one
document and one page of entries at a time, so memory stays bounded whatever the record's size.
Everything is read in one snapshot of the database (a deferred transaction on SQLite, REPEATABLE
READ on PostgreSQL). ``dmptui.export_check`` verifies an archive with no host.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select
from sqlalchemy.orm import Session

from dmptui import merkle
from dmptui.export_format import (
    CHECKPOINT,
    ENTRIES,
    FHIR,
    KEY,
    MANIFEST,
    MANIFEST_SIG,
    PROOFS,
    document_member,
    manifest_message,
)
from dmptui.host import crypto, ledger, policy
from dmptui.host.db import (
    READ_ONLY,
    Authorisation,
    Block,
    Document,
    DocumentBody,
    Practitioner,
    Record,
)
from dmptui.host.db import TraceEntry as TraceRow
from dmptui.identifiers import NIR_OID, parse_ins
from dmptui.schema import DOC_TYPE_LABELS, MAX_PROOF_SEQS, Label

# Published systems. The RPPS is carried as the national practitioner identifier (IDNPS:
# "8" + RPPS), as the French FHIR profiles (FR Core, ANS) do.
LOINC = "http://loinc.org"
IDNPS = "urn:oid:1.2.250.1.71.4.2.1"
VISIBILITY = "urn:oid:1.2.250.1.213.1.1.4.13"  # TRE_A07, the DMP's visibility codes
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
AUDIT_TYPE = "http://dicom.nema.org/resources/ontology/DCM"
ACTIONS = "urn:dmptui:trace-action"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY = "http://loinc.org"
CONSENT_POLICY = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CHUNK = 64 * 1024
ENTRIES_PAGE = 1000
PROOF_BATCH = 10 * MAX_PROOF_SEQS  # entries whose proofs are read in one statement


def _ins_system(ins: str) -> str:
    """The INS's official system: the NIR's OID, or the NIA's for a provisional number."""
    try:
        return f"urn:oid:{parse_ins(ins).oid}"
    except ValueError:
        return f"urn:oid:{NIR_OID}"


def estimate(s: Session, record_id: int, trace_size: int) -> int:
    """About how many bytes the archive will be, for a progress bar: the originals as they
    compress, and about 300 bytes per trace entry (the entry, its proof and its AuditEvent,
    compressed) and per document's description."""
    from sqlalchemy import func

    sizes, count = s.execute(
        select(func.coalesce(func.sum(Document.size), 0), func.count(Document.id)).where(
            Document.record_id == record_id
        )
    ).one()
    return int(int(sizes) * 0.6) + 300 * (int(count) + trace_size) + 4096


class _Sink:
    """What ``zipfile`` writes, kept until the response takes it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return out


@contextmanager
def snapshot(host: Any) -> Iterator[Session]:
    """A session on one consistent view of the database that writes nothing."""
    with host.engine.connect() as conn:
        if host.engine.dialect.name == "sqlite":
            conn.execution_options(**{READ_ONLY: True})  # a deferred BEGIN: one snapshot
        else:
            conn.execution_options(isolation_level="REPEATABLE READ")
        with host.sessions(bind=conn) as s:
            try:
                yield s
            finally:
                s.rollback()


def _json_line(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _iso(at: datetime) -> str:
    return merkle.iso(at)


def _entry_json(e: Any) -> dict[str, Any]:
    """A trace entry as the API shows it (``TraceEntryOut``), with ``at`` as the leaf writes it."""
    return {
        "seq": e.seq,
        "at": _iso(e.at),
        "actor_role": e.actor_role,
        "actor_name": e.actor_name,
        "actor_rpps": e.actor_rpps,
        "actor_profession": e.actor_profession,
        "actor_facility": e.actor_facility,
        "action": e.action,
        "document_id": e.document_id,
        "mode": e.mode,
        "outcome": e.outcome,
        "reason": e.reason,
    }


class Export:
    """One export of one record: ``stream()`` yields the archive's bytes."""

    def __init__(self, host: Any, record_id: int, now: datetime, key: Any) -> None:
        self.host = host
        self.key = key
        self.record_id = record_id
        self.now = now
        # (name, SHA-256, size) per file: kept compact, one per document until the end.
        self.manifest: list[tuple[str, bytes, int]] = []
        self.sha1: dict[str, tuple[str, int]] = {}  # document id -> (FHIR attachment hash, size)

    # --- reading ----------------------------------------------------------------------------

    def _documents(self, s: Session) -> Iterator[Document]:
        rows = s.scalars(
            select(Document)
            .where(Document.record_id == self.record_id)
            .order_by(Document.deposited_at, Document.id)
            .execution_options(yield_per=200)
        )
        for doc in rows:
            from dmptui.host.routes.common import document_facts

            if policy.patient_sees(document_facts(doc), self.now):
                yield doc

    def _entries(self, s: Session, size: int) -> Iterator[Any]:
        """The entries the patient sees (as the trace page: not those about a document they
        cannot see yet), oldest first, up to ``size``."""
        from dmptui.host.routes.patient import trace_out

        hidden = select(Document.id).where(
            Document.record_id == self.record_id, Document.patient_visible_from > self.now
        )
        after = 0
        while True:
            rows = s.scalars(
                select(TraceRow)
                .where(
                    TraceRow.record_id == self.record_id,
                    TraceRow.seq > after,
                    TraceRow.seq <= size,
                    or_(TraceRow.document_id.is_(None), TraceRow.document_id.not_in(hidden)),
                )
                .order_by(TraceRow.seq)
                .limit(ENTRIES_PAGE)
            ).all()
            if not rows:
                return
            for row in rows:
                yield trace_out(s, row)
            after = rows[-1].seq
            s.expunge_all()

    # --- writing ----------------------------------------------------------------------------

    def stream(self) -> Iterator[bytes]:
        sink = _Sink()
        with (
            snapshot(self.host) as s,
            zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        ):
            record = s.get(Record, self.record_id)
            assert record is not None
            size = record.trace_size
            key = self.key
            conn = s.connection()
            root_hex = ledger.root(conn, self.record_id, size).hex()
            cp = {
                "ins": record.ins,
                "tree_size": size,
                "root_hash": root_hex,
                "signed_at": self.now.isoformat(),
                "key_id": key.key_id,
                "signature": base64.b64encode(
                    key.sign(ledger.checkpoint_message(record.ins, size, root_hex, self.now))
                ).decode(),
            }
            for doc in self._documents(s):
                content = _content(s, doc)
                self.sha1[doc.id] = (
                    base64.b64encode(
                        hashlib.sha1(content, usedforsecurity=False).digest()
                    ).decode(),
                    len(content),
                )
                yield from self._member(
                    zf, sink, document_member(doc.id, doc.content_type), [content]
                )
            yield from self._member(
                zf, sink, ENTRIES, (_json_line(_entry_json(e)) for e in self._entries(s, size))
            )
            yield from self._member(zf, sink, PROOFS, self._proofs(s, conn, size))
            yield from self._member(zf, sink, FHIR, self._bundle(s, record, size))
            yield from self._member(zf, sink, CHECKPOINT, [_json_line(cp)])
            yield from self._member(zf, sink, KEY, [_json_line(self._key_json())])
            manifest = _json_line(
                {
                    "format": "dmptui-export/1",
                    "ins": record.ins,
                    "exported_at": _iso(self.now),
                    "key_id": key.key_id,
                    "files": [
                        {"path": path, "sha256": sha.hex(), "size": n}
                        for path, sha, n in self.manifest
                    ],
                }
            )
            zf.writestr(MANIFEST, manifest)
            zf.writestr(
                MANIFEST_SIG,
                base64.b64encode(key.sign(manifest_message(manifest))).decode() + "\n",
            )
        yield sink.take()

    def _member(
        self, zf: zipfile.ZipFile, sink: _Sink, name: str, pieces: Iterable[bytes]
    ) -> Iterator[bytes]:
        digest = hashlib.sha256()
        size = 0
        with zf.open(name, "w", force_zip64=True) as f:
            for piece in pieces:
                f.write(piece)
                digest.update(piece)
                size += len(piece)
                if sink.size >= CHUNK:
                    yield sink.take()
        self.manifest.append((name, digest.digest(), size))
        if sink.size:
            yield sink.take()

    def _proofs(self, s: Session, conn: Connection, size: int) -> Iterator[bytes]:
        batch: list[int] = []

        def flush() -> Iterator[bytes]:
            for seq, leaf, path in ledger.inclusion(conn, self.record_id, size, batch):
                yield _json_line(
                    {"seq": seq, "leaf_hash": leaf.hex(), "path": [h.hex() for h in path]}
                )
            batch.clear()

        for e in self._entries(s, size):
            batch.append(e.seq)
            if len(batch) == PROOF_BATCH:
                yield from flush()
        if batch:
            yield from flush()

    def _key_json(self) -> dict[str, Any]:
        (key_id, public), links = ledger.history(self.host)
        return {
            "algorithm": "Ed25519",
            "key_id": key_id,
            "public_key": base64.b64encode(public).decode(),
            "chain": [
                {
                    "previous_key_id": link.previous_key_id,
                    "previous_public_key": base64.b64encode(link.previous_public).decode(),
                    "key_id": link.key_id,
                    "public_key": base64.b64encode(link.public).decode(),
                    "signed_at": _iso(link.signed_at),
                    "signature": base64.b64encode(link.signature).decode(),
                }
                for link in links
            ],
        }

    # --- the FHIR Bundle --------------------------------------------------------------------

    def _bundle(self, s: Session, record: Record, size: int) -> Iterator[bytes]:
        """The Bundle as JSON, written resource by resource."""
        yield (
            '{"resourceType":"Bundle","type":"collection","timestamp":'
            + json.dumps(_iso(self.now))
            + ',"entry":[\n'
        ).encode()
        first = True

        def entry(resource: dict[str, Any], key: str) -> bytes:
            nonlocal first
            full_url = f"urn:uuid:{_uuid(resource['resourceType'], key)}"
            text = json.dumps({"fullUrl": full_url, "resource": resource}, ensure_ascii=False)
            out = ("" if first else ",\n") + text
            first = False
            return out.encode("utf-8")

        yield entry(self._patient(record), "patient")
        for who in self._practitioners(s, record):
            yield entry(_practitioner(who), who.rpps)
        for doc in self._documents(s):
            yield entry(self._document_reference(s, doc), doc.id)
        for consent in self._consents(s, record):
            yield entry(consent, consent["id"])
        for e in self._entries(s, size):
            yield entry(self._audit_event(e), str(e.seq))
        yield b"\n]}\n"

    def _patient(self, record: Record) -> dict[str, Any]:
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": "patient",
            "identifier": [
                {
                    "use": "official",
                    "system": _ins_system(record.ins),
                    "value": record.ins,
                }
            ],
        }
        name = _patient_name(record)
        if name:
            patient["name"] = [{"text": name}]
        telecom = []
        if record.phone:
            telecom.append({"system": "phone", "value": record.phone})
        if record.email:
            telecom.append({"system": "email", "value": record.email})
        if telecom:
            patient["telecom"] = telecom
        return patient

    def _practitioners(self, s: Session, record: Record) -> list[Practitioner]:
        """Everyone the archive names: authors, the authorised, the blocked, the médecin
        traitant, the practitioners in the trace."""
        rpps: set[str] = set()
        rpps.update(s.scalars(select(Document.author_rpps).where(Document.record_id == record.id)))
        rpps.update(
            s.scalars(select(Authorisation.rpps).where(Authorisation.record_id == record.id))
        )
        rpps.update(s.scalars(select(Block.rpps).where(Block.record_id == record.id)))
        if record.attending_rpps:
            rpps.add(record.attending_rpps)
        rpps.update(
            r
            for r in s.scalars(
                select(TraceRow.actor_rpps)
                .where(TraceRow.record_id == record.id, TraceRow.actor_rpps.is_not(None))
                .distinct()
            )
            if r
        )
        if not rpps:
            return []
        return list(
            s.scalars(
                select(Practitioner)
                .where(Practitioner.rpps.in_(sorted(rpps)))
                .order_by(Practitioner.rpps)
            )
        )

    def _document_reference(self, s: Session, doc: Document) -> dict[str, Any]:
        from dmptui.host.routes.common import document_facts

        title = crypto.open_title(_cipher(s, doc), doc.record_id, doc.id, doc.title_sealed)
        labels = policy.patient_labels(document_facts(doc), self.now)
        sha1, size = self.sha1[doc.id]
        resource: dict[str, Any] = {
            "resourceType": "DocumentReference",
            "id": _fhir_id(doc.id),
            "identifier": [{"system": "urn:dmptui:document", "value": doc.id}],
            "status": "current",
            "type": {
                "coding": [
                    {
                        "system": LOINC,
                        "code": doc.type,
                        "display": DOC_TYPE_LABELS.get(doc.type, {}).get("en", doc.type),
                    }
                ]
            },
            "subject": {"reference": f"urn:uuid:{_uuid('Patient', 'patient')}"},
            "date": _iso(doc.deposited_at),
            "author": [{"reference": f"urn:uuid:{_uuid('Practitioner', doc.author_rpps)}"}],
            "description": title,
            "content": [
                {
                    "attachment": {
                        "contentType": doc.content_type,
                        "url": document_member(doc.id, doc.content_type),
                        "size": size,
                        "hash": sha1,
                        "title": title,
                        "creation": _iso(doc.deposited_at),
                    }
                }
            ],
        }
        if doc.care_date is not None:
            resource["context"] = {"period": {"start": doc.care_date.date().isoformat()}}
        if doc.facility:
            resource["custodian"] = {"display": doc.facility}
        security = [
            {"system": VISIBILITY, "code": label}
            for label in sorted(labels)
            if label in (Label.MASQUE_PS, Label.INVISIBLE_REPRESENTANTS_LEGAUX)
        ]
        if security:
            resource["securityLabel"] = [{"coding": [c]} for c in security]
        return resource

    def _consents(self, s: Session, record: Record) -> Iterator[dict[str, Any]]:
        patient = {"reference": f"urn:uuid:{_uuid('Patient', 'patient')}"}

        def consent(cid: str, kind: str, what: str, permit: bool, rpps: str | None = None,
                    since: datetime | None = None) -> dict[str, Any]:  # fmt: skip
            provision: dict[str, Any] = {"type": "permit" if permit else "deny"}
            if rpps:
                provision["actor"] = [
                    {
                        "role": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                    "code": "PRCP",
                                }
                            ]
                        },
                        "reference": {"reference": f"urn:uuid:{_uuid('Practitioner', rpps)}"},
                    }
                ]
            if kind in ("break_glass", "regulation"):
                provision["purpose"] = [
                    {"system": ACT_REASON, "code": "BTG" if kind == "break_glass" else "ETREAT"}
                ]
            out: dict[str, Any] = {
                "resourceType": "Consent",
                "id": cid,
                "status": "active",
                "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
                "category": [{"coding": [{"system": CONSENT_CATEGORY, "code": "59284-0"}]}],
                "patient": patient,
                "policyRule": {
                    "coding": [{"system": CONSENT_POLICY, "code": "OPTIN" if permit else "OPTOUT"}]
                },
                "provision": provision,
                "identifier": [{"system": "urn:dmptui:consent", "value": kind}],
            }
            out["scope"]["text"] = what
            if since is not None:
                out["dateTime"] = _iso(since)
            return out

        for a in s.scalars(
            select(Authorisation)
            .where(Authorisation.record_id == record.id)
            .order_by(Authorisation.rpps)
        ):
            yield consent(
                _fhir_id(f"authorisation-{a.rpps}"), "authorisation",
                "access granted by the patient", True, a.rpps, a.since,
            )  # fmt: skip
        for b in s.scalars(select(Block).where(Block.record_id == record.id).order_by(Block.rpps)):
            yield consent(
                _fhir_id(f"block-{b.rpps}"), "block", "access blocked by the patient", False,
                b.rpps, b.since,
            )  # fmt: skip
        if record.attending_rpps:
            yield consent(
                "attending", "attending", "médecin traitant (attending doctor)", True,
                record.attending_rpps,
            )  # fmt: skip
        yield consent(
            "break-glass", "break_glass", "emergency (break-glass) access",
            not record.refuses_break_glass,
        )  # fmt: skip
        yield consent(
            "regulation", "regulation", "emergency call centre (SAMU) access",
            not record.refuses_regulation,
        )  # fmt: skip

    def _audit_event(self, e: Any) -> dict[str, Any]:
        who: dict[str, Any] = {"requestor": True}
        if e.actor_rpps:
            who["who"] = {
                "reference": f"urn:uuid:{_uuid('Practitioner', e.actor_rpps)}",
                "display": e.actor_name or e.actor_rpps,
            }
        elif e.actor_role == "patient":
            who["who"] = {"reference": f"urn:uuid:{_uuid('Patient', 'patient')}"}
        else:
            who["who"] = {"display": e.actor_name or e.actor_role}
        who["type"] = {"text": e.actor_role}
        event: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": f"trace-{e.seq}",
            "type": {"system": AUDIT_TYPE, "code": "110110", "display": "Patient Record"},
            "subtype": [{"system": ACTIONS, "code": e.action}],
            "action": _audit_action(e.action),
            "recorded": _iso(e.at),
            "outcome": "0" if e.outcome == "allowed" else "4",
            "agent": [who],
            "source": {"observer": {"display": "dmptui record host"}},
        }
        if e.reason:
            event["outcomeDesc"] = e.reason
        if e.mode != "normal":
            event["purposeOfEvent"] = [
                {
                    "coding": [
                        {
                            "system": ACT_REASON,
                            "code": "BTG" if e.mode == "break-glass" else "ETREAT",
                        }
                    ]
                }
            ]
        entity: dict[str, Any] = {"what": {"identifier": {"value": f"seq:{e.seq}"}}}
        if e.document_id:
            entity = {
                "what": {"identifier": {"system": "urn:dmptui:document", "value": e.document_id}}
            }
        event["entity"] = [entity]
        return event


def _cipher(s: Session, doc: Document) -> Any:
    """The document's key, without adding it to the host's cache of document keys: an export
    reads each document once, and ten thousand keys kept would be memory spent on nothing."""
    keyring = crypto.keyring_of(s)
    cached = keyring.cached_document_key(doc.record_id, doc.id, doc.wrapped_key)
    if cached is not None:
        return cached
    record_key = crypto.record_cipher(s, doc.record_id)
    return crypto.Keyring.unwrap_document_key(record_key, doc.record_id, doc.id, doc.wrapped_key)


def _content(s: Session, doc: Document) -> bytes:
    sealed = s.scalar(select(DocumentBody.data).where(DocumentBody.document_id == doc.id))
    if sealed is None:
        raise crypto.DecryptionError(f"document {doc.id} has no content")
    return crypto.open_content(_cipher(s, doc), doc.record_id, doc.id, sealed)


def _audit_action(action: str) -> str:
    if action.startswith(
        ("documents.list", "document.read", "document.download", "trace.read", "support.lookup")
    ):
        return "R"
    if action in ("document.deposit",):
        return "C"
    if action in ("document.delete", "erase"):
        return "D"
    if action in ("login", "logout", "record.export"):
        return "E"
    return "U"


def _patient_name(record: Record) -> str:
    return record.display_name or ""


def _practitioner(who: Practitioner) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": _fhir_id(f"rpps-{who.rpps}"),
        "identifier": [{"system": IDNPS, "value": f"8{who.rpps}", "type": {"text": "RPPS"}}],
        "name": [{"text": who.name}],
        "qualification": [{"code": {"text": who.profession}}],
    }


def _fhir_id(raw: str) -> str:
    """A FHIR id ([A-Za-z0-9.-]{1,64}) from one of ours."""
    text = "".join(c if c.isalnum() or c in ".-" else "-" for c in raw)
    return text[:64] or "x"


def _uuid(kind: str, key: str) -> str:
    """A stable UUID for a resource of the Bundle, so references resolve within it."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dmptui:{kind}:{key}"))
