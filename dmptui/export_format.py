"""The layout of an exported record, shared by the host that writes it
(``dmptui/host/export.py``) and the check that reads it (``dmptui/export_check.py``): the files'
names, where a document's original goes, and the exact bytes the host signs for the manifest.
Part of the contract, like ``dmptui.merkle``: no I/O, nothing but the standard library."""

from __future__ import annotations

import hashlib

FHIR = "record.fhir.json"
ENTRIES = "trace/entries.jsonl"
PROOFS = "trace/proofs.jsonl"
CHECKPOINT = "trace/checkpoint.json"
KEY = "trace/key.json"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
REQUIRED = (FHIR, ENTRIES, PROOFS, CHECKPOINT, KEY, MANIFEST, MANIFEST_SIG)
MANIFEST_CONTEXT = b"dmptui-export-manifest/v1\n"
# A file name's extension by content type (its part before any ";"): the archive's originals
# and the documents the apps save.
EXTENSIONS = {
    "text/plain": "txt",
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/tiff": "tif",
    "application/dicom": "dcm",
    "application/zip": "zip",
    "application/rtf": "rtf",
    "application/msword": "doc",
}


def extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type.split(";")[0].strip().lower(), "bin")


def document_member(doc_id: str, content_type: str) -> str:
    """Where a document's original lies in the archive."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in doc_id)
    return f"documents/{safe}.{extension(content_type)}"


def manifest_message(manifest: bytes) -> bytes:
    """The bytes the host signs for an export's manifest: its own context line (no checkpoint
    or key endorsement can be read as one), then the manifest's SHA-256 in hex."""
    return MANIFEST_CONTEXT + hashlib.sha256(manifest).hexdigest().encode()
