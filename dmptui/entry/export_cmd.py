"""``dmptui export`` (take the whole record, logging in as screen-reader mode does) and
``dmptui verify-export`` (check an archive offline, with no host)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXPORT_HELP = "export your whole record to a zip archive you can check offline"
VERIFY_HELP = "check an exported record offline: signatures, proofs and every file"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", help=EXPORT_HELP, description=EXPORT_HELP)
    p.add_argument("--host", help="the record host's URL (or DMPTUI_HOST, or config.toml)")
    p.add_argument("--out", required=True, type=Path, help="the archive to write (.zip)")
    p.add_argument("--lang", choices=["fr", "en"], help="language (default: your locale)")
    p.set_defaults(func=run_export)
    v = sub.add_parser(
        "verify-export",
        help=VERIFY_HELP,
        description=VERIFY_HELP,
        epilog="exit status: 0 every check holds, 1 one does not, 2 bad usage",
    )
    v.add_argument("file", type=Path, help="the archive written by dmptui export")
    v.add_argument("--lang", choices=["fr", "en"], help="language (default: your locale)")
    v.set_defaults(func=run_verify)


def _language(lang: str | None) -> None:
    from dmptui import i18n

    i18n.set_language(lang or i18n.detect_language())


def run_verify(args: argparse.Namespace) -> int:
    from dmptui import export_check

    _language(args.lang)
    verdict = export_check.verify(args.file)
    for line in verdict.lines():
        print(line)
    sys.stdout.flush()
    return EXIT_OK if verdict.ok else EXIT_FAILED


async def _remembered(client: Any) -> bool:
    """The session "Remember me" kept on this device, if there is one that still works: its
    refresh token from the keyring, refreshed (and the new one kept there, as the app does)."""
    from dmptui.client import HostError
    from dmptui.session import LAST_ACCOUNT, TokenStore, keep_in_sync

    store = TokenStore()
    account = store.load(LAST_ACCOUNT)
    token = store.load(account) if account else None
    if not account or not token:
        return False
    client.refresh_token = token
    keep_in_sync(client, store, account)
    try:
        await client.refresh()
    except HostError:
        return False
    return True


def run_export(args: argparse.Namespace) -> int:
    import asyncio

    from dmptui import settings
    from dmptui.actions.export import NOTHING_EXPORTED
    from dmptui.i18n import _
    from dmptui.reader.io import Console

    conf = settings.load(
        {"host": args.host, "lang": args.lang}
    )  # options, then DMPTUI_*, then file
    _language(conf.lang)
    console = Console()
    host = conf.host
    if not host:
        console.emit(
            "error",
            _("no record host is set. Give --host URL (or DMPTUI_HOST, or host in config.toml)."),
        )
        return EXIT_USAGE

    async def main() -> int:
        from dmptui.client import Client
        from dmptui.i18n import language
        from dmptui.reader.app import Reader, ReaderConfig
        from dmptui.reader.export import export_and_leave
        from dmptui.reader.flow import Quit
        from dmptui.reader.io import EndOfInput

        config = ReaderConfig(host_url=host, lang=language())
        client = Client(host)
        reader = Reader(config, console, client)
        remembered = await _remembered(client)
        try:
            return await export_and_leave(reader, args.out, remembered)
        except (Quit, EndOfInput):
            console.emit("info", _(NOTHING_EXPORTED))
            return EXIT_FAILED
        finally:
            if client.logged_in and not remembered:  # a remembered session stays remembered
                await reader.logout()
            await client.aclose()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        console.restore()
        console.emit("info", _("Stopped (Ctrl+C)."))
        return EXIT_FAILED
