"""The schema comes from Alembic migrations, and they match the models exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from dmptui.host.db import Base, migrate

PG_URL = os.environ.get("DMPTUI_TEST_DATABASE_URL")


def _diff(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    return diff


def test_migrations_create_the_models_schema_on_a_fresh_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    migrate(url)
    assert _diff(url) == []
    migrate(url)  # idempotent


def test_sqlite_pragmas(tmp_path: Path) -> None:
    from dmptui.host.db import make_engine

    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1
    engine.dispose()


@pytest.mark.postgresql_only
def test_migrations_on_postgresql_match_the_models() -> None:
    assert PG_URL
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(PG_URL)
    assert _diff(PG_URL) == []
