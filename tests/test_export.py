"""The patient's whole record, exported from the real host and checked offline: the archive's
FHIR Bundle against the R4 models, its originals against the host's, and `verify-export`
finding any change — a byte in a document, an entry, the checkpoint, the key chain or the
Bundle; a file removed or added; a truncated or non-zip file."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from dmptui import export_check

HERE = Path(__file__).resolve().parent


def export_archive(host: Any, path: Path) -> httpx.Headers:
    client = host.login()
    host.clock.advance(minutes=6)  # the login's own freshness (5 minutes) is over
    refused = client.post("/v1/record/export")
    assert refused.status_code == 401 and refused.json()["error"] == "step_up_required"
    host.step_up(client)
    with client.stream("POST", "/v1/record/export") as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"] == "application/zip"
        with path.open("wb") as f:
            for chunk in r.iter_bytes():
                f.write(chunk)
        return r.headers


@pytest.fixture
def archive(host: Any, tmp_path: Path) -> Path:
    path = tmp_path / "record.zip"
    export_archive(host, path)
    return path


def test_the_export_verifies_and_holds_what_the_patient_sees(host: Any, archive: Path) -> None:
    verdict = export_check.verify(archive)
    assert verdict.ok, verdict.lines()
    client = host.login()
    docs = client.get("/v1/record/documents", params={"limit": 200}).json()["items"]
    with zipfile.ZipFile(archive) as zf:
        bundle = json.loads(zf.read(export_check.FHIR))
        refs = [
            e["resource"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "DocumentReference"
        ]
        assert {r["identifier"][0]["value"] for r in refs} == {d["id"] for d in docs}
        for d in docs[:5]:
            original = client.get(f"/v1/record/documents/{d['id']}/content").content
            member = export_check.document_member(d["id"], d["content_type"])
            assert zf.read(member) == original
        entries = [json.loads(x) for x in zf.read(export_check.ENTRIES).splitlines()]
        cp = json.loads(zf.read(export_check.CHECKPOINT))
    # The export itself is traced, and the checkpoint covers its own entry.
    assert entries[-1]["action"] == "record.export" and entries[-1]["seq"] == cp["tree_size"]
    assert cp["ins"] == host.ins


def test_the_bundle_parses_as_fhir_with_the_published_codes(archive: Path) -> None:
    from fhir.resources.R4B.bundle import Bundle

    with zipfile.ZipFile(archive) as zf:
        raw = zf.read(export_check.FHIR)
    bundle = Bundle.model_validate_json(raw)
    assert bundle.type == "collection"
    kinds: dict[str, list[Any]] = {}
    for entry in bundle.entry or []:
        kinds.setdefault(entry.resource.get_resource_type(), []).append(entry.resource)
    (patient,) = kinds["Patient"]
    assert patient.identifier[0].system == "urn:oid:1.2.250.1.213.1.4.8"  # the NIR
    for ref in kinds["DocumentReference"]:
        assert ref.type.coding[0].system == "http://loinc.org"
        assert ref.type.coding[0].code in {
            "11490-0", "11488-4", "11502-2", "18748-4", "57833-6", "11369-6", "51855-5",
        }  # fmt: skip
    masked = [r for r in kinds["DocumentReference"] if r.securityLabel]
    assert masked and all(
        r.securityLabel[0].coding[0].system == "urn:oid:1.2.250.1.213.1.1.4.13" for r in masked
    )
    for who in kinds["Practitioner"]:
        assert who.identifier[0].system == "urn:oid:1.2.250.1.71.4.2.1"
        assert who.identifier[0].value.startswith("8") and len(who.identifier[0].value) == 12
    consents = {c.identifier[0].value for c in kinds["Consent"]}
    assert {"break_glass", "regulation", "attending", "authorisation"} <= consents
    assert len(kinds["AuditEvent"]) > 10


def _rewrite(src: Path, dst: Path, change: Any) -> None:
    """A copy of the archive with ``change(name, data) -> data | None`` (None: left out)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)


def _flip(data: bytes, at: int | None = None) -> bytes:
    i = len(data) // 2 if at is None else at
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def _first_document(archive: Path) -> str:
    with zipfile.ZipFile(archive) as zf:
        return next(n for n in zf.namelist() if n.startswith("documents/"))


@pytest.mark.parametrize(
    "target",
    ["document", export_check.ENTRIES, export_check.CHECKPOINT, export_check.KEY,
     export_check.FHIR, export_check.PROOFS, export_check.MANIFEST],
)  # fmt: skip
def test_one_byte_changed_anywhere_is_found(archive: Path, tmp_path: Path, target: str) -> None:
    name = _first_document(archive) if target == "document" else target
    changed = tmp_path / "changed.zip"

    def change(member: str, data: bytes) -> bytes:
        if member != name:
            return data
        if member == export_check.CHECKPOINT:  # a digit of the root: still valid JSON
            return _flip(data, data.index(b'"root_hash": "') + 16)
        return _flip(data)

    _rewrite(archive, changed, change)
    verdict = export_check.verify(changed)
    assert not verdict.ok and verdict.fails, verdict.lines()


def test_a_removed_or_added_file_is_found(archive: Path, tmp_path: Path) -> None:
    doc = _first_document(archive)
    removed = tmp_path / "removed.zip"
    _rewrite(archive, removed, lambda n, d: None if n == doc else d)
    verdict = export_check.verify(removed)
    assert not verdict.ok and "missing" in verdict.fails[0]
    added = tmp_path / "added.zip"
    _rewrite(archive, added, lambda n, d: d)
    with zipfile.ZipFile(added, "a") as zf:
        zf.writestr("documents/extra.txt", b"not from the host")
    verdict = export_check.verify(added)
    assert not verdict.ok and "added" in verdict.fails[0]


def test_truncated_and_non_zip_files_get_a_verdict_not_a_traceback(
    archive: Path, tmp_path: Path
) -> None:
    data = archive.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        short = tmp_path / f"short{cut}.zip"
        short.write_bytes(data[:cut])
        verdict = export_check.verify(short)
        assert not verdict.ok and verdict.fails
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "not a zip file" in export_check.verify(text).fails[0]
    assert "does not exist" in export_check.verify(tmp_path / "absent.zip").fails[0]


def test_the_verify_export_command(archive: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dmptui.entry.cli", "verify-export", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    done = run(str(archive), "--lang", "en")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("Verdict: this archive is the record")
    assert "Traceback" not in done.stderr
    broken = tmp_path / "broken.zip"
    broken.write_bytes(archive.read_bytes()[:-200])
    done = run(str(broken), "--lang", "fr")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "Verdict :" in done.stdout and "Verdict:" not in done.stdout


def test_the_export_is_notified_and_needs_a_live_session(host: Any, archive: Path) -> None:
    client = host.login()
    kinds = [n["kind"] for n in client.get("/v1/record/notifications").json()["items"]]
    assert "export" in kinds
    assert "exported" in host.outbox_body("sms").lower() or "exporté" in host.outbox_body("sms")
    anonymous = httpx.post(f"{host.url}/v1/record/export")
    assert anonymous.status_code == 401


def test_the_export_command_logs_in_as_the_reader_does(host: Any, tmp_path: Path) -> None:
    """`dmptui export`: the INS, the password and the code asked as in screen-reader mode, the
    progress said, the archive written and checked, exit status 0."""
    import pexpect

    out = tmp_path / "export.zip"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "dmptui.entry.cli", "export", "--host", host.url, "--out", str(out), "--lang", "en"],
        env=env, encoding="utf-8", timeout=60,
    )  # fmt: skip
    child.expect_exact("INS (national health identifier, 15 characters): ")
    child.sendline(host.ins)
    child.expect_exact("Password (not shown as you type): ")
    child.sendline(host.password)
    child.expect_exact("Your choice: ")
    child.sendline("1")
    child.expect_exact("(not shown as you type; Enter alone goes back): ")
    child.sendline(host.code())
    child.expect(r"Done: Your record is exported to .+ and checked")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert export_check.verify(out).ok


def test_the_export_command_uses_the_session_remembered_on_this_device(
    host: Any, tmp_path: Path
) -> None:
    """ "Remember me" kept a refresh token in the keyring: `dmptui export` asks nothing, exports,
    keeps the rotated token there, and leaves the session open."""
    tokens = host.login().tokens
    store = tmp_path / "keyring.json"
    store.write_text(
        json.dumps(
            {"dmptui\nlast-account": host.ins, f"dmptui\n{host.ins}": tokens["refresh_token"]}
        )
    )
    out = tmp_path / "remembered.zip"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(HERE),
        "PYTHON_KEYRING_BACKEND": "filekeyring.FileKeyring",
        "FILE_KEYRING": str(store),
    }
    done = subprocess.run(
        [sys.executable, "-m", "dmptui.entry.cli", "export", "--host", host.url, "--out",
         str(out), "--lang", "en"],
        input="", capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Password" not in done.stdout and "Done: Your record is exported to" in done.stdout
    assert export_check.verify(out).ok
    kept = json.loads(store.read_text())[f"dmptui\n{host.ins}"]
    assert kept != tokens["refresh_token"]  # rotated, and the new one kept
    again = httpx.post(f"{host.url}/v1/auth/refresh", json={"refresh_token": kept})
    assert again.status_code == 200  # the remembered session is still open
