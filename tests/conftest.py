"""Fixtures: a demo database migrated and seeded once per run, copied for each test, and served
by the real host over HTTP on loopback. Set DMPTUI_TEST_DATABASE_URL to run on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit import Clock, LiveHost, copy_key, copy_sqlite, live_host
from prockit import reset_postgres
from secretscan import pytest_configure as _secretscan_configure
from secretscan import pytest_sessionfinish  # noqa: F401 - the plugin

from dmptui.host import crypto
from dmptui.host.context import Host
from dmptui.host.db import migrate
from dmptui.host.seed import seed_demo

PG_URL = os.environ.get("DMPTUI_TEST_DATABASE_URL")
SHM = Path("/dev/shm")


def pytest_configure(config: pytest.Config) -> None:
    # The run's temporary files (the hosts' SQLite files, data dirs, logs) in memory when the
    # system has a tmpfs: the host's SQLite runs with synchronous=FULL, and the suite's many
    # thousands of fsyncs on a disk are time spent on nothing a test checks (still real files,
    # written through SQLite as on disk). --basetemp or PYTEST_DEBUG_TEMPROOT choose otherwise.
    if config.option.basetemp is None and "PYTEST_DEBUG_TEMPROOT" not in os.environ:
        if SHM.is_dir() and os.access(SHM, os.W_OK):
            os.environ["PYTEST_DEBUG_TEMPROOT"] = str(SHM)
    _secretscan_configure(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests about one database's own machinery (SQLite's file and locks, PostgreSQL's pool and
    schema) are not collected for the other: deselected, named in the run's summary line, never
    reported as skipped (`.ci/run` runs the host files on both)."""
    other = "sqlite_only" if PG_URL else "postgresql_only"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (pyproject's addopts): one process per core with pytest-xdist, but none on
    PostgreSQL, where every test resets the one shared database's schema. Two per core ran the
    suite in 8.4 min instead of 12.6 on 2 cores, but each of its first runs found a test that
    depends on timing (fixed, see git log); `-n 4` runs it so, to look for more."""
    return 0 if PG_URL else None


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("template") / "demo.sqlite3"
    url = f"sqlite:///{path}"
    migrate(url)
    crypto.ensure_master_key(path.parent)  # <template>/master.key, copied beside each copy
    host = Host(url, path.parent)
    creds = seed_demo(host)
    host.engine.dispose()
    return path, creds


@pytest.fixture
def host(demo_template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[LiveHost]:
    """The demo record on a fresh database, served over real HTTP."""
    clock = Clock()
    if PG_URL:
        reset_postgres(PG_URL)
        migrate(PG_URL)
        crypto.ensure_master_key(tmp_path / "data")
        h = Host(PG_URL, tmp_path / "data", clock=clock)
        creds = seed_demo(h)
        h.engine.dispose()
        yield from live_host(PG_URL, None, tmp_path / "data", creds, clock)
        return
    template, creds = demo_template
    path = tmp_path / "host.sqlite3"
    copy_sqlite(template, path)
    copy_key(template.parent, tmp_path / "data")
    yield from live_host(f"sqlite:///{path}", path, tmp_path / "data", creds, clock)


@pytest.fixture
def second_host(demo_template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[LiveHost]:
    """Another demo record on its own fresh SQLite database (the same seed: the same ids), for
    tests that compare two runs side by side."""
    template, creds = demo_template
    folder = tmp_path / "second"
    folder.mkdir()
    path = folder / "host.sqlite3"
    copy_sqlite(template, path)
    copy_key(template.parent, folder / "data")
    yield from live_host(f"sqlite:///{path}", path, folder / "data", creds, Clock())


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """A test that runs the app in French must not leave the process in French."""
    yield
    from dmptui import i18n

    i18n.set_language("en")
