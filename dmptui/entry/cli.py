"""The ``dmptui`` command: the patient app (``dmptui``, ``dmptui demo``), and ``dmptui host …``
for the record host.

Exit codes: 0 done, 2 bad usage, 3 refused by the rules. ``--json`` prints machine-readable
answers. Heavy imports happen inside the commands, so ``dmptui --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmptui.reader.app import ReaderConfig
    from dmptui.reader.io import Console

EXIT_OK, EXIT_USAGE, EXIT_REFUSED = 0, 2, 3


def _data_dir() -> Path:
    from platformdirs import user_data_dir

    path = Path(os.environ.get("DMPTUI_DATA_DIR") or user_data_dir("dmptui"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _db_url(arg: str | None) -> str:
    if arg:
        return arg
    if os.environ.get("DMPTUI_DATABASE_URL"):
        return os.environ["DMPTUI_DATABASE_URL"]
    return f"sqlite:///{_data_dir() / 'host.sqlite3'}"


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
    return "\n".join(lines)


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
    where = crypto.ENV_VAR if os.environ.get(crypto.ENV_VAR) else str(crypto.key_path(data_dir))
    if os.environ.get(ledger.KEY_ENV):
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
    from dmptui.host.seed import seed_demo

    url = _db_url(args.db)
    crypto.ensure_master_key(_data_dir())
    _migrate(url, _data_dir())
    host = Host(url, _data_dir())
    try:
        creds = seed_demo(host)
    except ValueError as e:
        print(f"Erreur / Error: {e}. Use a fresh database (--db).", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        host.engine.dispose()
    _print(args, creds, _demo_text(creds))
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
    host.checkpoint()
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
    from dmptui.host.seed import seed_demo

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
        creds = seed_demo(host)
        host.engine.dispose()
        base = f"http://{args.host}:{args.port}"
        print(_demo_text(creds, base), flush=True)
        print(f"  Outbox (SMS / email): {data_dir / 'outbox' / 'outbox.jsonl'}", flush=True)
    if args.workers > 1:
        # Each worker process imports the factory and builds its own app from the environment.
        from dmptui.host import app as app_module

        os.environ[app_module.ENV_DATABASE_URL] = url
        os.environ[app_module.ENV_DATA_DIR] = str(data_dir)
        os.environ[app_module.ENV_MAINTENANCE_EVERY] = str(args.maintenance_every or 0)
        uvicorn.run(
            "dmptui.host.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            log_level="warning",
            workers=args.workers,
        )
        return EXIT_OK
    app = create_app(url, data_dir, maintenance_every=args.maintenance_every)
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
                    data = Path(args.file).read_bytes()
                    pdf = data.startswith(b"%PDF-")
                    body["content_type"] = "application/pdf" if pdf else "text/plain"
                    if pdf:
                        body["content_base64"] = base64.b64encode(data).decode()
                    else:
                        body["content"] = data.decode("utf-8")
                else:
                    body["content"] = args.text or ""
                if args.care_date:
                    body["care_date"] = args.care_date
                if args.invisible_patient:
                    body["labels"] = ["INVISIBLE_PATIENT"]
                r = client.post(f"/v1/ps/records/{ins}/documents", json=body)
            elif args.action == "list":
                r = client.get(f"/v1/ps/records/{ins}/documents", params=params)
            else:
                r = client.get(f"/v1/ps/records/{ins}/documents/{args.doc_id}", params=params)
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
        print(json.dumps(payload, ensure_ascii=False, indent=2), file=sys.stderr)
        return EXIT_REFUSED if r.status_code in (401, 403, 404, 409, 410) else EXIT_USAGE
    if args.json or args.action != "list":
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for d in payload["items"]:
            print(f"{d['deposited_at'][:10]}  {d['type']:<8} {d['id']}  {d['title']!r}")
    return EXIT_OK


# --- the patient app -----------------------------------------------------------------------


def _config_file() -> dict[str, Any]:
    from platformdirs import user_config_dir

    path = Path(user_config_dir("dmptui")) / "config.toml"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}  # the usual case: tomllib is not even imported (start-up)
    import tomllib

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        print(
            f"Attention / Warning: {path} is not valid TOML ({e}); it is ignored.", file=sys.stderr
        )
        return {}


def _language(args: argparse.Namespace, config: dict[str, Any]) -> str:
    from dmptui import i18n

    lang = args.lang or config.get("lang") or i18n.detect_language()
    if lang not in i18n.LANGUAGES:
        print(
            f"Attention / Warning: lang = {lang!r} in config.toml is not fr or en; it is ignored.",
            file=sys.stderr,
        )
        lang = i18n.detect_language()
    i18n.set_language(lang)
    return lang


def _screen_reader(args: argparse.Namespace, config: dict[str, Any]) -> str | None:
    """Why screen-reader mode turns on (--screen-reader, ACCESSIBLE, the config file, TERM=dumb,
    output not a terminal), or None for the TUI."""
    from dmptui.reader.detect import reason

    return reason(bool(getattr(args, "screen_reader", False)), config)


def _run_reader(host: str | None, lang: str, why: str, ins: str = "", demo: bool = False) -> int:
    from dmptui.reader.app import ReaderConfig, run

    config = ReaderConfig(host_url=host, lang=lang, reason=why, ins=ins, device_id=_device_id())
    return run(config, start_host=_reader_demo if demo else None)


@contextmanager
def _reader_demo(config: ReaderConfig, console: Console) -> Iterator[ReaderConfig]:
    """Screen-reader mode on the embedded demo host: started here (the reader never imports the
    host), said in words, and the reader given its address, the demo INS and the demo phone."""
    from dataclasses import replace

    from dmptui.entry.demo import running_demo
    from dmptui.i18n import _

    console.emit("wait", _("Starting the demo record host on this computer…"))
    with running_demo() as demo:
        patient = demo.creds["patient"]
        console.emit("done", _("the demo record host is ready."))
        console.emit(
            "info",
            _(
                "This is a demo. The INS is {ins} and the password is {password}. For the "
                "code, choose 2 (SMS): the messages the demo host sends are written here, "
                "each on a line that starts with “Demo phone:”."
            ).format(ins=patient["ins"], password=patient["password"]),
        )
        yield replace(config, host_url=demo.url, ins=patient["ins"], outbox=demo.outbox)


def run_app(args: argparse.Namespace) -> int:
    config = _config_file()
    lang = _language(args, config)
    host = args.host or os.environ.get("DMPTUI_HOST") or config.get("host")
    why = _screen_reader(args, config)
    if why:
        return _run_reader(host, lang, why, ins=str(config.get("ins") or ""))
    if not host:
        print(
            "Aucun hôte configuré. Essayez `dmptui demo`, ou donnez --host URL.\n"
            "No host configured. Try `dmptui demo`, or give --host URL.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return _run_tui(
        host, lang, ins=str(config.get("ins") or ""), outbox=None, theme=config.get("theme")
    )


def _run_tui(
    host: str,
    lang: str,
    ins: str,
    outbox: Path | None,
    password: str = "",
    theme: object = None,
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
        demo_outbox=outbox,
        demo_password=password,
        token_store=TokenStore(),
        device_id=_device_id(),
        theme=theme if isinstance(theme, str) else "",  # "dark", "light", "high-contrast"
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
    from dmptui.entry.demo import running_demo

    config = _config_file()
    lang = _language(args, config)
    why = _screen_reader(args, config)
    if why:
        return _run_reader(None, lang, why, demo=True)
    with running_demo() as demo:
        patient = demo.creds["patient"]
        return _run_tui(
            demo.url,
            lang,
            ins=patient["ins"],
            outbox=demo.outbox,
            password=patient["password"],
            theme=config.get("theme"),
        )


def _parser() -> argparse.ArgumentParser:
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
        default=30.0,
        help="seconds between maintenance rounds (notices, purge, outbox); 0: none here "
        "(run `dmptui host maintain` in another process)",
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        print("\nThe patient app arrives with the next issue; for now: `dmptui host serve --demo`.")
        return EXIT_OK
    try:
        return int(args.func(args))
    except Exception as e:
        crypto = sys.modules.get("dmptui.host.crypto")  # imported by the host commands only
        if crypto is not None and isinstance(e, crypto.MasterKeyError):
            print(f"Erreur / Error: {e}", file=sys.stderr)
            return EXIT_REFUSED
        ledger = sys.modules.get("dmptui.host.ledger")
        if ledger is not None and isinstance(e, ledger.LedgerKeyError):
            print(f"Erreur / Error: {e}", file=sys.stderr)
            return EXIT_REFUSED
        raise


if __name__ == "__main__":
    sys.exit(main())
