"""The ``dmptui`` command: the patient app (``dmptui``, ``dmptui demo``), and ``dmptui host …``
for the record host.

Exit codes: 0 done, 2 bad usage (a bad setting too: ``dmptui.settings``), 3 refused by the
rules, 1 when the output's reader went away (``… | head``, said nowhere). ``--json`` prints
machine-readable answers. Heavy imports happen inside the commands, so ``dmptui --help`` stays
instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmptui import settings

if TYPE_CHECKING:
    from dmptui.entry.demo import DemoHost
    from dmptui.reader.app import ReaderConfig
    from dmptui.reader.io import Console

EXIT_OK, EXIT_USAGE, EXIT_REFUSED = 0, 2, 3


def _data_dir() -> Path:
    from platformdirs import user_data_dir

    path = settings.env_value("data_dir") or Path(user_data_dir("dmptui"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _db_url(arg: str | None) -> str:
    """--db, else DMPTUI_DATABASE_URL, else SQLite under the data dir."""
    url, _source = settings.value("database_url", flags={"database_url": arg})
    return url or f"sqlite:///{_data_dir() / 'host.sqlite3'}"


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def _demo_text(creds: dict[str, Any], url: str | None = None) -> str:
    import pyotp

    p = creds["patient"]
    lines = [
        "Dossier de démonstration / Demo record" + (f" — {url}" if url else ""),
        f"  Patient : {p['name']}",
        f"  INS : {p['ins']}",
        f"  Mot de passe / Password : {p['password']}",
        f"  Secret TOTP (application d'authentification / authenticator app) : {p['totp_secret']}",
        f"  Code du moment / Current code : {pyotp.TOTP(p['totp_secret']).now()}",
        "  Professionnels / Practitioners (header X-Practitioner-Credential):",
    ]
    for pr in creds["practitioners"]:
        lines.append(
            f"    {pr['role']:<11} {pr['rpps']}  {pr['name']} ({pr['profession']})"
            f"  credential: {pr['credential']}"
        )
    new = creds.get("new_patient")
    if new:
        lines += [
            "  Dossier à activer / Record to activate (ouvert par la pharmacie / opened by the "
            "pharmacist):",
            f"    Patient : {new['name']}",
            f"    INS : {new['ins']}",
            f"    Mot de passe provisoire / Provisional password : {new['password']}",
            f"    Code d'activation (courrier) / Activation code (letter) : "
            f"{new['activation_code']}",
        ]
    return "\n".join(lines)


def _seed_both(host: Any) -> dict[str, Any]:
    """The demo record, then the second patient's record, opened and not yet activated."""
    from dmptui.host.seed import seed_demo, seed_new_patient

    creds = seed_demo(host)
    creds["new_patient"] = seed_new_patient(host)
    return creds


# --- host commands -------------------------------------------------------------------------


def host_init(args: argparse.Namespace) -> int:
    from dmptui.host import crypto, ledger
    from dmptui.host.context import Host
    from dmptui.host.db import migrate

    url = _db_url(args.db)
    data_dir = _data_dir()
    master, created = crypto.ensure_master_key(data_dir)
    migrate(url, crypto.host_keyring(data_dir))
    Host(url, data_dir).engine.dispose()  # refuses a key that did not write this database
    from_env = settings.env_value("master_key") is not None
    where = crypto.ENV_VAR if from_env else str(crypto.key_path(data_dir))
    if settings.env_value("ledger_key") is not None:
        signing = f"{ledger.KEY_ENV} (environment)"
    else:
        ledger.create_key_file(data_dir)
        signing = str(data_dir / ledger.KEY_FILE)
    _print(
        args,
        {
            "database": _safe_url(url),
            "schema": "up to date",
            "master_key": {"id": master.id, "where": where, "created": created},
            "ledger_key": signing,
        },
        f"Base prête / Database ready: {_safe_url(url)}\n"
        f"Clé maîtresse / Master key: {master.id} ({where}"
        + (", créée / created" if created else "")
        + "). Sauvegardez-la à part : sans elle, les données sont illisibles. / Back it up "
        "separately: without it the data cannot be read.\n"
        f"Clé de signature de la trace / Trace signing key: {signing}",
    )
    return EXIT_OK


def host_rotate_key(args: argparse.Namespace) -> int:
    from dmptui.host import crypto

    url = _db_url(args.db)
    data_dir = _data_dir()
    old, new, count = crypto.rotate_master_key(url, data_dir)
    _print(
        args,
        {"old_master_key": old, "master_key": new, "record_keys_rewrapped": count},
        f"Clé maîtresse changée / Master key rotated: {old} -> {new}; "
        f"{count} clés de dossier reprises / record keys rewrapped.",
    )
    return EXIT_OK


def host_rotate_ledger_key(args: argparse.Namespace) -> int:
    from dmptui.host import ledger
    from dmptui.host.context import Host

    url = _db_url(args.db)
    data_dir = _data_dir()
    _migrate(url, data_dir)
    host = Host(url, data_dir)
    try:
        r = ledger.rotate(host)
    finally:
        host.engine.dispose()
    data: dict[str, Any] = {
        "old_key_id": r.old_key_id,
        "key_id": r.new_key_id,
        "endorsed_at": r.at.isoformat(),
    }
    text = (
        f"Clé de signature de la trace changée / Trace signing key rotated: {r.old_key_id} -> "
        f"{r.new_key_id}. L'ancienne clé a signé la nouvelle ; les applications des patients "
        "suivent ce lien et le disent au patient. / The old key endorsed the new one; patients' "
        "apps follow that link and tell the patient.\n"
    )
    if r.new_private is None:
        data["ledger_key"] = str(data_dir / ledger.KEY_FILE)
        data["restart_needed"] = False
        text += (
            f"Nouvelle clé dans / New key in {data_dir / ledger.KEY_FILE} (l'ancienne est "
            "effacée / the old one is erased). Les processus de l'hôte en cours la prennent au "
            "prochain point de contrôle, sans redémarrage. / Running host processes pick it up "
            "at their next checkpoint, no restart needed. Sauvegardez-la avec le dossier de "
            "données. / Back it up with the data dir."
        )
    else:
        data["new_ledger_key"] = r.new_private
        data["restart_needed"] = True
        text += (
            f"La clé vient de {ledger.KEY_ENV} : la commande ne peut pas changer cette variable. "
            f"Mettez-y cette nouvelle clé privée (gardez-la secrète), puis redémarrez chaque "
            "processus de l'hôte ; d'ici là, ils refusent de signer (les applications disent "
            "« vérification impossible cette fois »), et un hôte démarré avec l'ancienne clé "
            f"refuse de démarrer. / The key comes from {ledger.KEY_ENV}: this command cannot "
            "change that variable. Set it to this new private key (keep it secret), then "
            "restart every host process; until then they refuse to sign (apps say 'could not "
            "be checked this time'), and a host started with the old key refuses to start.\n"
            f"{ledger.KEY_ENV}={r.new_private}"
        )
    _print(args, data, text)
    return EXIT_OK


def _migrate(url: str, data_dir: Path) -> None:
    from dmptui.host import crypto
    from dmptui.host.db import migrate

    migrate(url, crypto.host_keyring(data_dir))


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def host_seed_demo(args: argparse.Namespace) -> int:
    from dmptui.host import crypto
    from dmptui.host.context import Host

    url = _db_url(args.db)
    crypto.ensure_master_key(_data_dir())
    _migrate(url, _data_dir())
    host = Host(url, _data_dir())
    try:
        creds = _seed_both(host)
    except ValueError as e:
        print(f"Erreur / Error: {e}. Use a fresh database (--db).", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        host.engine.dispose()
    _print(args, creds, _demo_text(creds))
    return EXIT_OK


def host_outbox(args: argparse.Namespace) -> int:
    """The file outbox's messages, opened with the data dir's master key (the demo's phone, or
    a test machine without SMTP or SMS gateway): on disk every line is sealed."""
    from dmptui.host import crypto, outbox_file

    data_dir = _data_dir()
    path = outbox_file.default_path(data_dir)
    messages = outbox_file.read_messages(path, crypto.host_keyring(data_dir))
    text = "\n\n".join(
        f"[{m['created_at']}] {m['channel']} → {m['recipient']} — {m['subject']}\n{m['body']}"
        for m in messages
    )
    _print(args, messages, text or f"Aucun message / No message ({path}).")
    return EXIT_OK


def host_purge(args: argparse.Namespace) -> int:
    from dmptui.host.context import Host
    from dmptui.host.lifecycle import purge_due

    now = _parse_now(args.now)
    url = _db_url(args.db)
    _migrate(url, _data_dir())
    host = Host(url, _data_dir())
    with host.tx() as s:
        erased = purge_due(s, now)
    host.erased(erased)
    host.engine.dispose()
    _print(
        args,
        {"erased": len(erased), "now": now.isoformat()},
        f"Dossiers effacés / Records erased: {len(erased)} (closed 10+ years before "
        f"{now:%Y-%m-%d})",
    )
    return EXIT_OK


def _parse_now(raw: str | None) -> datetime:
    if not raw:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def host_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from dmptui.host.app import create_app
    from dmptui.host.context import Host

    every, _source = settings.value(
        "maintenance_every", flags={"maintenance_every": args.maintenance_every}
    )
    every = 30.0 if every is None else every
    data_dir = _data_dir()
    if args.demo:
        if args.db:
            print(
                "Erreur / Error: --demo uses a fresh SQLite file; do not give --db.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
        url = f"sqlite:///{data_dir / f'demo-{stamp}.sqlite3'}"
    else:
        url = _db_url(args.db)
    if args.demo:
        from dmptui.host import crypto

        crypto.ensure_master_key(data_dir)
    if args.no_migrate and not args.demo:
        from dmptui.host.db import schema_revisions

        current, heads = schema_revisions(url)
        if current != heads:
            print(
                f"Erreur / Error: the schema of {_safe_url(url)} is at "
                f"{sorted(current) or 'none'}, this host needs {sorted(heads)}. "
                "Run `dmptui host init` first.",
                file=sys.stderr,
            )
            return EXIT_REFUSED
    else:
        _migrate(url, data_dir)
    if args.demo:
        host = Host(url, data_dir)
        creds = _seed_both(host)
        host.engine.dispose()
        base = f"http://{args.host}:{args.port}"
        print(_demo_text(creds, base), flush=True)
        print(
            f"  Outbox (SMS / email), sealed: {data_dir / 'outbox' / 'outbox.jsonl'} — "
            "lire / read: dmptui host outbox",
            flush=True,
        )
    if args.workers > 1:
        # Each worker process imports the factory and builds its own app from the environment.
        from dmptui.host import app as app_module

        os.environ[app_module.ENV_DATABASE_URL] = url
        os.environ[app_module.ENV_DATA_DIR] = str(data_dir)
        os.environ[app_module.ENV_MAINTENANCE_EVERY] = str(every)
        uvicorn.run(
            "dmptui.host.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            log_level="warning",
            workers=args.workers,
        )
        return EXIT_OK
    app = create_app(url, data_dir, maintenance_every=every or None)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", workers=None)
    return EXIT_OK


def host_maintain(args: argparse.Namespace) -> int:
    """The maintenance rounds (due notices, the 10-year purge, outbox delivery) without HTTP: for
    a dedicated process when the API replicas run with --maintenance-every 0."""
    import time

    from dmptui.host import outbox
    from dmptui.host.app import run_maintenance
    from dmptui.host.context import Host

    url = _db_url(args.db)
    data_dir = _data_dir()
    host = Host(url, data_dir)
    router = outbox.transport_from_env(data_dir)
    try:
        while True:
            try:
                run_maintenance(host, router)
            except Exception as e:  # keep going; the next round retries
                print(
                    f"Erreur / Error: maintenance round failed ({type(e).__name__})",
                    file=sys.stderr,
                )
                if args.once:
                    return EXIT_REFUSED
            if args.once:
                return EXIT_OK
            time.sleep(args.every)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        host.engine.dispose()


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# Content types by the file's first bytes (the extension can lie, or be missing).
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"PK\x03\x04", "application/zip"),
    (b"{\\rtf", "application/rtf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),
)


class FileRefused(Exception):
    """A file the host would not take; the message says why and what to do (FR / EN)."""


def sniff(path: Path, data: bytes) -> str:
    """A file's content type: from its first bytes (PDF, images, archives, Word, DICOM), else
    ``text/plain`` if it is UTF-8 text, else Windows-1252 text (the encoding of older French
    software) if it decodes as such with no control character, else from its name
    (``mimetypes``), else ``application/octet-stream``."""
    import mimetypes

    from dmptui.schema import LEGACY_TEXT

    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    if data[128:132] == b"DICM":
        return "application/dicom"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        guessed = mimetypes.guess_type(path.name)[0]
        if guessed and not guessed.startswith("text/"):
            return guessed
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return guessed or "application/octet-stream"
        if not any(ord(c) < 0x20 and c not in "\t\n\r\x0c" for c in text):
            return LEGACY_TEXT
        return "application/octet-stream"
    return "text/plain"


def _deposit_file(path: Path) -> tuple[bytes, str]:
    """The file's bytes, as they are, and its content type (one the contract names,
    ``schema.DepositType``; any other is deposited as ``application/octet-stream``, the bytes
    kept). FileRefused when it cannot be read."""
    from typing import get_args

    from dmptui.schema import DepositType

    try:
        data = path.read_bytes()
    except OSError as e:
        raise FileRefused(
            f"Le fichier {path} ne peut pas être lu ({e.strerror}). Vérifiez le chemin. / "
            f"The file {path} cannot be read ({e.strerror}). Check the path."
        ) from None
    content_type = sniff(path, data)
    if content_type not in get_args(DepositType):  # a type the contract does not name
        content_type = "application/octet-stream"  # deposited all the same, the bytes kept
    return data, content_type


# The host's refusals to a practitioner, worded in French and English (the JSON body follows,
# for scripts). "no_access" is the one answer for an INS without a record and for a record the
# patient has not let this practitioner into, in whatever state: it cannot say which.
PRACTITIONER_REFUSALS: dict[str, tuple[str, str]] = {
    "no_access": (
        "aucun dossier que vous puissiez ouvrir dans ce mode pour cet INS : soit il n'y en a "
        "pas, soit le patient ne vous y a pas donné accès. Vérifiez l'INS. En urgence, si le "
        'patient ne peut pas consentir, utilisez --mode break-glass --reason "…".',
        "no record you may open in this mode for this INS: either there is none, or its "
        "patient has not given you access. Check the INS. In an emergency where the patient "
        'cannot consent, use --mode break-glass --reason "…".',
    ),
    "record_closed": (
        "ce dossier est fermé par son patient ; rien ne peut y être lu ni ajouté.",
        "this record has been closed by its patient; nothing can be read or added.",
    ),
    "not_found": (
        "aucun document que vous puissiez lire sous cet identifiant dans ce dossier. Listez "
        "les documents (list) pour voir ceux que vous pouvez lire.",
        "no document you may read under this id in this record. List the documents (list) to "
        "see those you may read.",
    ),
    "profession_never_has_access": (
        "votre profession n'a jamais accès au DMP.",
        "your profession never has access to the DMP.",
    ),
    "reason_required": (
        'le mode bris de glace demande un motif : ajoutez --reason "…".',
        'break-glass mode needs a reason: add --reason "…".',
    ),
    "not_regulation": (
        "le mode régulation est réservé aux médecins régulateurs (centre 15).",
        "regulation mode is for emergency call-centre (centre 15) doctors.",
    ),
    "profession_matrix": (
        "votre profession ne peut pas ajouter ce type de document.",
        "your profession may not add this type of document.",
    ),
    "patient_note_is_patients": (
        "les notes du patient sont écrites par le patient.",
        "patient notes are written by the patient.",
    ),
    "profession_may_not_open": (
        "seul un médecin ou un pharmacien peut ouvrir un dossier pour un patient.",
        "only a doctor or a pharmacist may open a record for a patient.",
    ),
    "record_exists": (
        "un dossier existe déjà pour cet INS ; aucun second dossier n'est ouvert. Le patient "
        "s'y connecte, ou demande au support un nouveau code d'activation.",
        "a record already exists for this INS; no second record is opened. The patient logs "
        "in to it, or asks the support desk for a new activation code.",
    ),
}


def _opened_text(payload: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Dossier ouvert / Record opened: {payload['name']} (INS {payload['ins']})",
            "  Mot de passe provisoire, à remettre au patient / Provisional password, to hand "
            f"to the patient: {payload['password']}",
            "  Le code d'activation part au patient par courrier ; il est valable jusqu'au "
            f"{payload['activation_expires_at'][:10]}.",
            "  The activation code goes to the patient by letter; it is valid until "
            f"{payload['activation_expires_at'][:10]}.",
        ]
    )


def _practitioner_refusal(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    words = PRACTITIONER_REFUSALS.get(str(payload.get("reason") or payload.get("error")))
    if words is None:
        return None
    return f"Refusé : {words[0]}\nRefused: {words[1]}"


def host_practitioner(args: argparse.Namespace) -> int:
    import base64

    import httpx

    from dmptui.schema import PRACTITIONER_HEADER

    headers = {PRACTITIONER_HEADER: args.credential}
    base = args.url.rstrip("/")
    ins = args.ins
    params: dict[str, str] = {"mode": args.mode}
    if args.reason:
        params["reason"] = args.reason
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            if args.action == "deposit":
                body: dict[str, Any] = {"type": args.type, "title": args.title}
                if args.file:
                    data, content_type = _deposit_file(Path(args.file))
                    # As bytes, whatever the type: the host keeps exactly what the file holds.
                    body["content_type"] = content_type
                    body["content_base64"] = base64.b64encode(data).decode()
                else:
                    body["content"] = args.text or ""
                if args.care_date:
                    body["care_date"] = args.care_date
                if args.invisible_patient:
                    body["labels"] = ["INVISIBLE_PATIENT"]
                r = client.post(f"/v1/ps/records/{ins}/documents", json=body)
            elif args.action == "open":
                opening = {"ins": ins, "name": args.name, "phone": args.phone, "email": args.email}
                r = client.post("/v1/ps/records", json=opening)
            elif args.action == "list":
                r = client.get(f"/v1/ps/records/{ins}/documents", params=params)
            else:
                r = client.get(f"/v1/ps/records/{ins}/documents/{args.doc_id}", params=params)
    except FileRefused as e:
        print(f"Erreur / Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except httpx.HTTPError as e:
        print(
            f"Erreur / Error: the host at {base} does not answer ({type(e).__name__}). "
            "Check --url and that the host runs.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    payload: Any = (
        r.json()
        if r.headers.get("content-type", "").startswith("application/json")
        else {"status": r.status_code}
    )
    if r.status_code >= 400:
        worded = _practitioner_refusal(payload)
        if worded:
            print(worded, file=sys.stderr)
        print(json.dumps(payload, ensure_ascii=False, indent=2), file=sys.stderr)
        return EXIT_REFUSED if r.status_code in (401, 403, 404, 409, 410) else EXIT_USAGE
    if args.action == "open" and not args.json:
        print(_opened_text(payload))
    elif args.json or args.action != "list":
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for d in payload["items"]:
            print(f"{d['deposited_at'][:10]}  {d['type']:<8} {d['id']}  {d['title']!r}")
    return EXIT_OK


# --- the support desk ----------------------------------------------------------------------


def host_support_agents(args: argparse.Namespace) -> int:
    """add, list, remove: on the host's own database (``--db``), not over HTTP."""
    from dmptui.host import support_desk
    from dmptui.host.context import Host

    url = _db_url(args.db)
    data_dir = _data_dir()
    _migrate(url, data_dir)
    host = Host(url, data_dir)
    try:
        with host.tx() as s:
            if args.action == "add":
                try:
                    agent, credential = support_desk.add(s, args.name, host.now())
                except support_desk.BadName as e:
                    print(f"Erreur / Error: {e}", file=sys.stderr)
                    return EXIT_USAGE
                _print(
                    args,
                    {"id": agent.id, "name": agent.name, "credential": credential},
                    f"Agent du support ajouté / Support agent added: {agent.id} {agent.name}\n"
                    f"Identifiant à donner à l'agent, affiché une seule fois (en-tête "
                    f"X-Support-Credential) / Credential to give the agent, shown this once "
                    f"(header X-Support-Credential):\n{credential}",
                )
                return EXIT_OK
            if args.action == "list":
                rows: list[dict[str, Any]] = [
                    {"id": a.id, "name": a.name, "created_at": a.created_at.isoformat()}
                    for a in support_desk.agents(s)
                ]
                text = "\n".join(
                    f"{r['id']:>4}  {r['name']}  ({r['created_at'][:10]})" for r in rows
                )
                _print(args, rows, text or "Aucun agent / No agent.")
                return EXIT_OK
            removed = support_desk.remove(s, args.agent_id)
            if removed is None:
                print(
                    f"Refusé : aucun agent {args.agent_id} (voir `dmptui host support list`).\n"
                    f"Refused: no agent {args.agent_id} (see `dmptui host support list`).",
                    file=sys.stderr,
                )
                return EXIT_REFUSED
            _print(
                args,
                {"id": removed.id, "name": removed.name, "removed": True},
                f"Agent retiré, son identifiant ne marche plus / Agent removed, their credential "
                f"no longer works: {removed.id} {removed.name}",
            )
            return EXIT_OK
    finally:
        host.engine.dispose()


# The host's answers to the support desk, worded in French and English (the JSON body follows).
SUPPORT_REFUSALS: dict[str, tuple[str, str]] = {
    "not_found": (
        "aucun compte pour cet INS. Vérifiez les 15 caractères avec le patient (carte Vitale).",
        "no account for this INS. Check the 15 characters with the patient (carte Vitale).",
    ),
    "not_locked": (
        "la connexion de ce compte n'est pas bloquée : le patient peut se connecter.",
        "this account's login is not locked: the patient can log in.",
    ),
    "already_activated": (
        "ce compte est déjà activé : le patient se connecte avec son mot de passe.",
        "this account is already activated: the patient logs in with their password.",
    ),
    "record_erased": (
        "ce dossier a été effacé par son patient : il n'y a plus de compte.",
        "this record was erased by its patient: there is no account any more.",
    ),
    "unauthenticated": (
        "identifiant du support absent ou inconnu (--credential).",
        "support credential missing or unknown (--credential).",
    ),
    "invalid_input": (
        "INS mal formé : 15 caractères, sur la carte Vitale.",
        "malformed INS: 15 characters, on the carte Vitale.",
    ),
}
_STATES = {
    "open": ("ouvert", "open"),
    "not_activated": ("pas encore activé", "not activated yet"),
    "closed": ("fermé par le patient", "closed by the patient"),
    "erased": ("effacé", "erased"),
}


def _support_account_text(a: dict[str, Any]) -> str:
    fr, en = _STATES.get(a["status"], (a["status"], a["status"]))
    lines = [f"INS {a['ins']}", f"  État / Status: {fr} / {en}"]
    if a["locked"]:
        lines.append(f"  Connexion bloquée jusqu'à / Login locked until: {a['locked_until']} (UTC)")
    else:
        lines.append("  Connexion bloquée / Login locked: non / no")
    none = "aucun / none"
    if a["status"] != "erased":
        lines.append(f"  Téléphone / Phone: {a.get('phone') or none}")
        lines.append(f"  Email: {a.get('email') or none}")
        lines.append(
            f"  Dernière connexion / Last login: {a.get('last_login') or 'jamais / never'}"
        )
    return "\n".join(lines)


def host_support(args: argparse.Namespace) -> int:
    """lookup, unlock, resend: the support desk's API over HTTP, with the agent's credential."""
    import httpx

    from dmptui.schema import SUPPORT_HEADER

    base = args.url.rstrip("/")
    path = f"/v1/support/accounts/{args.ins}"
    try:
        with httpx.Client(
            base_url=base, headers={SUPPORT_HEADER: args.credential}, timeout=30
        ) as c:
            if args.action == "lookup":
                r = c.get(path)
            else:
                r = c.post(f"{path}/{'activation' if args.action == 'resend' else args.action}")
    except httpx.HTTPError as e:
        print(
            f"Erreur : l'hôte {base} ne répond pas ({type(e).__name__}). Vérifiez --url et "
            f"que l'hôte tourne.\nError: the host at {base} does not answer "
            f"({type(e).__name__}). Check --url and that the host runs.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    payload = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    if r.status_code >= 400:
        words = SUPPORT_REFUSALS.get(str(payload.get("reason"))) or SUPPORT_REFUSALS.get(
            str(payload.get("error"))
        )
        if words:
            print(f"Refusé : {words[0]}\nRefused: {words[1]}", file=sys.stderr)
        print(json.dumps(payload, ensure_ascii=False, indent=2), file=sys.stderr)
        return EXIT_USAGE if r.status_code == 422 else EXIT_REFUSED
    if args.action == "lookup":
        _print(args, payload, _support_account_text(payload))
    elif args.action == "resend":
        _print(
            args,
            payload,
            f"Nouveau code d'activation envoyé au patient par courrier (vous ne le voyez pas), "
            f"les anciens ne marchent plus ; le patient est prévenu. / A new activation code is "
            f"on its way to the patient by letter (you never see it), the old ones no longer "
            f"work; the patient is told so. (INS {payload['ins']})",
        )
    else:
        _print(
            args,
            payload,
            f"Connexion débloquée : le patient peut se connecter, et il est prévenu. / Login "
            f"unlocked: the patient can log in, and is told so. (INS {payload['ins']})",
        )
    return EXIT_OK


# --- the patient app -----------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> settings.Settings:
    """Every setting: the options given, then the environment, then the config file
    (``dmptui.settings``); a bad one is a SettingsError (``main`` says it, exit 2)."""
    flags = {
        "host": getattr(args, "host", None),
        "lang": getattr(args, "lang", None),
        "screen_reader": True if getattr(args, "screen_reader", False) else None,
    }
    return settings.load(flags)


def _language(conf: settings.Settings) -> str:
    from dmptui import i18n

    lang = conf.lang or i18n.detect_language()
    i18n.set_language(lang)
    return lang


def _screen_reader(args: argparse.Namespace, conf: settings.Settings) -> str | None:
    """Why screen-reader mode turns on (--screen-reader, ACCESSIBLE, the config file, TERM=dumb,
    output not a terminal), or None for the TUI."""
    from dmptui.reader.detect import reason

    return reason(
        bool(getattr(args, "screen_reader", False)), {"screen_reader": conf.screen_reader}
    )


def _run_reader(
    host: str | None, lang: str, why: str, ins: str = "", demo: DemoHost | None = None
) -> int:
    from dmptui.reader.app import ReaderConfig, run
    from dmptui.session import TokenStore

    config = ReaderConfig(
        host_url=host,
        lang=lang,
        reason=why,
        ins=ins,
        device_id=_device_id(),
        token_store=TokenStore(),
    )
    if demo is None:
        return run(config)

    @contextmanager
    def on_demo(config: ReaderConfig, console: Console) -> Iterator[ReaderConfig]:
        yield _reader_demo(demo, config, console)

    return run(config, start_host=on_demo)


def _reader_demo(demo: DemoHost, config: ReaderConfig, console: Console) -> ReaderConfig:
    """Screen-reader mode on the embedded demo host (its process started here, after the first
    line; the reader never imports the host): its start said in words, and the reader given its
    address, the demo INS and the demo phone."""
    from dataclasses import replace

    from dmptui.demo import host_failed
    from dmptui.entry.demo import DemoFailed
    from dmptui.i18n import _
    from dmptui.identifiers import spoken_ins

    if not demo.ready():
        console.emit("wait", _("Starting the demo record host on this computer…"))
    if not demo.wait():
        problem = host_failed(demo.problem() or "?")
        console.emit("error", problem)
        raise DemoFailed(problem)
    console.emit("done", _("the demo record host is ready."))
    console.emit(
        "info",
        _(
            "This is a demo. The INS is {ins} and the password is {password}. For the "
            "code, choose 2 (SMS): the messages the demo host sends are written here, "
            "each on a line that starts with “Demo phone:”. On any menu, d reads the demo "
            "phone again: the codes that deleting, closing and the emergency choices ask for."
        ).format(ins=spoken_ins(demo.ins), password=demo.password),
    )
    return replace(config, host_url=demo.url, ins=demo.ins, demo=demo)


def run_app(args: argparse.Namespace) -> int:
    conf = _settings(args)
    lang = _language(conf)
    why = _screen_reader(args, conf)
    if why:
        return _run_reader(conf.host, lang, why, ins=conf.ins)
    if not conf.host:
        print(
            "Aucun hôte configuré. Essayez `dmptui demo`, ou donnez --host URL.\n"
            "No host configured. Try `dmptui demo`, or give --host URL.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return _run_tui(conf.host, lang, ins=conf.ins, theme=conf.theme, keymap=conf.keymap)


def _run_tui(
    host: str,
    lang: str,
    ins: str,
    demo: DemoHost | None = None,
    theme: str = "",
    keymap: Mapping[str, str] | None = None,
) -> int:
    import gc

    # No cyclic garbage collection until the login screen is painted (the app turns it back on
    # then, ``DmpApp.warm_up``): the imports and the first layout allocate hundreds of
    # thousands of long-lived objects, and the collector walked them several times over before
    # the first paint (about 30 ms of a ~200 ms start). The few cycles made meanwhile are
    # collected once it is back on.
    gc.disable()
    from dmptui.session import TokenStore
    from screens.app import AppConfig, DmpApp

    config = AppConfig(
        host_url=host,
        lang=lang,
        ins=ins,
        demo=demo,
        token_store=TokenStore(),
        device_id=_device_id(),
        theme=theme,  # "dark", "light", "high-contrast"
        keymap=dict(keymap or {}),
    )
    DmpApp(config).run()
    return EXIT_OK


def _device_id() -> str:
    """A random id for this install, so the host can tell a new device (not a secret)."""
    path = _data_dir() / "device-id"
    try:
        value = path.read_text("ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        value = ""
    if len(value) != 32:
        value = os.urandom(16).hex()  # as secrets.token_hex, without its import at start-up
        path.write_text(value, "ascii")
    return value


def run_demo(args: argparse.Namespace) -> int:
    from dmptui.entry.extras import host_extra_problem

    problem = host_extra_problem("dmptui demo")
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    from dmptui.entry.demo import DemoFailed, DemoHost

    # The demo's address and account are known at once; its host process starts once the login
    # is painted (the TUI's ``warm_up``; reader mode after its first line), in the background.
    with DemoHost() as demo:
        conf = _settings(args)
        lang = _language(conf)
        why = _screen_reader(args, conf)
        if why:
            try:
                return _run_reader(None, lang, why, demo=demo)
            except DemoFailed:
                return EXIT_REFUSED
        return _run_tui(
            demo.url, lang, ins=demo.ins, demo=demo, theme=conf.theme, keymap=conf.keymap
        )


def _app_only(argv: Sequence[str]) -> bool:
    """Whether ``argv`` starts the app (``dmptui [demo] [--host URL] [--lang L]
    [--screen-reader]``), with nothing the other commands' parsers are needed for: then they are
    not built (about 10 ms of a ~300 ms start, bench/app_bench.py)."""
    tokens = iter(argv)
    for token in tokens:
        if token in ("--host", "--lang"):
            next(tokens, None)
        elif token not in ("demo", "--screen-reader") and not token.startswith(
            ("--host=", "--lang=")
        ):
            return False
    return True


def _parser(app_only: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dmptui",
        description="Your shared medical record (DMP) in the terminal, and its reference host.",
    )
    parser.add_argument("--version", action="version", version="dmptui 0.1.0")
    parser.add_argument("--host", help="the record host's URL (or DMPTUI_HOST, or config.toml)")
    parser.add_argument("--lang", choices=["fr", "en"], help="language (default: your locale)")
    screen_reader_help = (
        "screen-reader mode: plain lines, numbered menus (also ACCESSIBLE=1, TERM=dumb, "
        "screen_reader = true in config.toml, or output not a terminal)"
    )
    parser.add_argument("--screen-reader", action="store_true", help=screen_reader_help)
    parser.set_defaults(func=run_app)
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="the app on an embedded demo host (nothing to set up)")
    demo.add_argument("--lang", choices=["fr", "en"], help="language (default: your locale)")
    demo.add_argument(
        "--screen-reader", action="store_true", default=argparse.SUPPRESS, help=screen_reader_help
    )
    demo.set_defaults(func=run_demo)
    if app_only:
        return parser
    from dmptui.entry import doctor

    doc = sub.add_parser("doctor", help=doctor.HELP, description=doctor.HELP, usage=doctor.USAGE)
    doctor.add_arguments(doc)
    doc.set_defaults(func=doctor.run)
    from dmptui.entry import export_cmd

    export_cmd.add_parsers(sub)
    host = sub.add_parser("host", help="run and manage the record host")
    hsub = host.add_subparsers(dest="host_command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--db",
            help="SQLAlchemy URL (default: SQLite under the XDG data dir, or DMPTUI_DATABASE_URL)",
        )
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    with_db(
        hsub.add_parser(
            "rotate-key",
            help="new master key; rewraps every record key (no data re-encrypted)",
        )
    ).set_defaults(func=host_rotate_key)
    with_db(
        hsub.add_parser(
            "rotate-ledger-key",
            help="new trace signing key, endorsed by the old one (patients' apps follow it)",
        )
    ).set_defaults(func=host_rotate_ledger_key)
    with_db(
        hsub.add_parser("init", help="create or upgrade the database schema and the master key")
    ).set_defaults(func=host_init)
    p = with_db(hsub.add_parser("purge", help="erase records closed more than 10 years ago"))
    p.add_argument("--now", help="ISO date-time to take as now (for tests and audits)")
    p.set_defaults(func=host_purge)
    with_db(
        hsub.add_parser("seed-demo", help="add the demo record and print its credentials")
    ).set_defaults(func=host_seed_demo)
    p = hsub.add_parser(
        "outbox", help="print the messages of the file outbox (sealed on disk), opened"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=host_outbox)
    p = with_db(hsub.add_parser("serve", help="serve the host API over HTTP"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--demo",
        action="store_true",
        help="seed the demo record into a fresh SQLite file and print credentials",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="worker processes on the same database (all shared state is in the database)",
    )
    p.add_argument(
        "--maintenance-every",
        type=float,
        default=None,
        help="seconds between maintenance rounds (notices, purge, outbox; default 30, or "
        "DMPTUI_MAINTENANCE_EVERY); 0: none here (run `dmptui host maintain` in another process)",
    )
    p.add_argument(
        "--no-migrate",
        action="store_true",
        help="never change the schema; refuse to start unless it is current (`host init` is)",
    )
    p.set_defaults(func=host_serve)
    p = with_db(
        hsub.add_parser(
            "maintain", help="run the maintenance rounds (notices, purge, outbox) without HTTP"
        )
    )
    p.add_argument("--every", type=float, default=30.0, help="seconds between rounds")
    p.add_argument("--once", action="store_true", help="one round, then exit")
    p.set_defaults(func=host_maintain)

    p = hsub.add_parser(
        "support", help="the support desk: its agents; look up, unlock, resend an activation code"
    )
    ssub = p.add_subparsers(dest="action", required=True)
    q = with_db(ssub.add_parser("add", help="add an agent and print their credential, once"))
    q.add_argument("--name", required=True, help="the agent's name, as patients read it")
    q.set_defaults(func=host_support_agents)
    with_db(ssub.add_parser("list", help="list the agents")).set_defaults(func=host_support_agents)
    q = with_db(ssub.add_parser("remove", help="remove an agent (their credential stops)"))
    q.add_argument("agent_id", type=int)
    q.set_defaults(func=host_support_agents)
    for name, what in (
        ("lookup", "an account's state by INS (channels masked; traced, the patient told)"),
        ("unlock", "end an account's login lock (traced, the patient told)"),
        ("resend", "send a new activation code by letter (traced, the patient told)"),
    ):
        q = ssub.add_parser(name, help=what)
        q.add_argument("ins")
        q.add_argument("--url", required=True, help="the host's URL")
        q.add_argument("--credential", required=True, help="your support credential")
        q.add_argument("--json", action="store_true", help="print JSON")
        q.set_defaults(func=host_support)

    p = hsub.add_parser(
        "practitioner", help="act as a practitioner (the credential stands for the CPS card)"
    )
    p.add_argument("--url", required=True)
    p.add_argument("--rpps", required=True)
    p.add_argument("--credential", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=host_practitioner)
    psub = p.add_subparsers(dest="action", required=True)
    dep = psub.add_parser("deposit", help="deposit a document")
    dep.add_argument("ins")
    dep.add_argument("--type", required=True, help="LOINC code, e.g. 11488-4")
    dep.add_argument("--title", required=True)
    src = dep.add_mutually_exclusive_group(required=True)
    src.add_argument("--text")
    src.add_argument("--file")
    dep.add_argument("--care-date")
    dep.add_argument("--invisible-patient", action="store_true")
    opn = psub.add_parser(
        "open",
        help="open a record for a patient (INS from the carte Vitale); prints the provisional "
        "password to hand over, the activation code goes by letter",
    )
    opn.add_argument("ins")
    opn.add_argument("--name", required=True, help="the patient's name")
    opn.add_argument("--phone", help="mobile phone, e.g. 06 12 34 56 78")
    opn.add_argument("--email")
    opn.set_defaults(mode="normal", reason=None)
    for name in ("list", "read"):
        q = psub.add_parser(name, help=f"{name} documents")
        q.add_argument("ins")
        if name == "read":
            q.add_argument("doc_id")
        q.add_argument("--mode", default="normal", choices=["normal", "break-glass", "regulation"])
        q.add_argument("--reason")
    for q in psub.choices.values():
        q.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    dep.set_defaults(mode="normal", reason=None)
    return parser


def _closed_pipe() -> int:
    """The reader of our output went away (``dmptui … list | head``): stop quietly. As the
    Python documentation recommends (signal module, "Note on SIGPIPE"): point standard output
    at devnull, so the flush at exit does not fail again, and exit 1; SIGPIPE keeps Python's
    disposition (ignored), so a closed socket is never a silent death."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 1


def _http_client_command(args: argparse.Namespace) -> bool:
    """``host practitioner`` and the support desk's ``lookup``, ``unlock`` and ``resend`` are
    HTTP clients."""
    if args.host_command == "practitioner":
        return True
    return args.host_command == "support" and args.action in ("lookup", "unlock", "resend")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser(app_only=_app_only(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.command == "host" and not _http_client_command(args):
        from dmptui.entry.extras import host_extra_problem

        # Every host command but the HTTP clients runs the host's own code.
        problem = host_extra_problem(f"dmptui host {args.host_command}")
        if problem:
            print(problem, file=sys.stderr)
            return EXIT_USAGE
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # here, not at exit, where a closed pipe could not be handled
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except settings.SettingsError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:
        crypto = sys.modules.get("dmptui.host.crypto")  # imported by the host commands only
        if crypto is not None and isinstance(e, crypto.MasterKeyError):
            print(f"Erreur / Error: {e}", file=sys.stderr)
            return EXIT_REFUSED
        ledger = sys.modules.get("dmptui.host.ledger")
        if ledger is not None and isinstance(e, ledger.LedgerKeyError):
            print(f"Erreur / Error: {e}", file=sys.stderr)
            return EXIT_REFUSED
        db = sys.modules.get("dmptui.host.db")
        if db is not None and isinstance(e, db.DatabaseFileError):
            print(f"Erreur / Error: {e}", file=sys.stderr)
            return EXIT_REFUSED
        raise


if __name__ == "__main__":
    sys.exit(main())
