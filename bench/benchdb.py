"""Database plumbing shared by the host benches: a fresh SQLite file by default, or the database
named by ``--database-url`` (PostgreSQL), whose schema ``public`` ``--reset`` drops first.

Plain DB-API connections (``sqlite3`` or ``psycopg``, the drivers the host's engine uses) for the
bench's own bulk writes and bare reads; ``sql()`` turns the ``?`` placeholders into psycopg's.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


def add_database_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/h_name (default: a fresh SQLite"
        " file)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="drop schema public of --database-url first"
    )


def database_url(args: argparse.Namespace, work: Path) -> str:
    """The URL the bench runs on (``--database-url``, reset if asked, or SQLite in ``work``)."""
    if not args.database_url:
        return f"sqlite:///{work / 'host.sqlite3'}"
    if args.reset:
        reset_postgres(args.database_url)
    return args.database_url


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def connect(url: str, *, autocommit: bool = False) -> Any:
    """A DB-API connection to the bench's database: ``sqlite3`` or ``psycopg``."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return sqlite3.connect(u.database, check_same_thread=False)
    import psycopg

    conninfo = u.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo, autocommit=autocommit)


def is_pg(conn: Any) -> bool:
    return not isinstance(conn, sqlite3.Connection)


def sql(conn: Any, statement: str) -> str:
    """``statement`` with ``?`` placeholders, in the connection's own paramstyle."""
    return statement.replace("?", "%s") if is_pg(conn) else statement


def describe(url: str) -> str:
    """The backend and its version, for a bench's header."""
    if is_sqlite(url):
        return f"sqlite {sqlite3.sqlite_version}"
    with connect(url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    u = make_url(url)
    return f"postgresql {version} on {u.host}:{u.port or 5432}"
