"""Alembic environment: runs migrations on the URL set by ``db.migrate`` (or alembic.ini)."""

from typing import Any

from alembic import context
from sqlalchemy import event

from dmptui.host.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: no sqlalchemy.url in the configuration")
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        # A batch migration copies a table, drops the old one and renames the copy: with foreign
        # keys on, the drop would cascade to the rows that point at it (document bodies).
        @event.listens_for(engine, "connect")
        def _no_foreign_keys(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
