"""The `dmptui` command: host init, seed-demo, purge, practitioner; exit codes 0 / 2 / 3."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from hostkit import LiveHost

from dmptui.entry.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from dmptui.identifiers import ins_key


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_init_seed_and_purge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert main(["host", "init", "--db", db, "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["schema"] == "up to date"
    assert main(["host", "seed-demo", "--db", db, "--json"]) == EXIT_OK
    creds = json.loads(capsys.readouterr().out)
    assert set(creds) == {"patient", "practitioners"}
    assert {"ins", "password", "totp_secret"} <= set(creds["patient"])
    roles = {p["role"] for p in creds["practitioners"]}
    assert {"author", "authorised", "attending", "emergency", "regulation", "pharmacist"} <= roles
    assert all(p["credential"] and p["rpps"] for p in creds["practitioners"])
    # Seeding twice is refused by the rules of the command, not a crash.
    assert main(["host", "seed-demo", "--db", db]) == EXIT_REFUSED
    capsys.readouterr()
    assert main(["host", "purge", "--db", db, "--now", "2040-01-01", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["erased"] == 0


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["host", "nonsense"]) == EXIT_USAGE
    assert main(["--lang", "de"]) == EXIT_USAGE
    capsys.readouterr()


def test_practitioner_commands_over_http(
    host: LiveHost, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def ps(role: str, *args: str) -> int:
        p = host.practitioner(role)
        return main(
            [
                "host",
                "practitioner",
                "--url",
                host.url,
                "--rpps",
                p["rpps"],
                "--credential",
                p["credential"],
                *args,
            ]
        )

    assert ps("author", "list", host.ins) == EXIT_OK
    assert host.ins not in capsys.readouterr().err
    # Not let in: the one answer, worded in French and English, the same as for an INS that
    # has no record (changed: it was the JSON body alone, reason "not_authorised").
    assert ps("emergency", "list", host.ins) == EXIT_REFUSED
    refused = capsys.readouterr().err
    assert "Refusé : aucun dossier que vous puissiez ouvrir" in refused
    assert "Refused: no record you may open in this mode for this INS" in refused
    assert '"reason": "no_access"' in refused
    nobody = "2750175999999"
    nobody += f"{ins_key(nobody):02d}"
    assert ps("emergency", "list", nobody) == EXIT_REFUSED
    assert capsys.readouterr().err == refused
    # A document of a type the pharmacist may not read: as if there were none.
    with host.ps("author") as author:
        consult = author.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={"type": "11488-4", "title": "Consultation", "content": "x"},
        ).json()
    assert ps("pharmacist", "read", host.ins, consult["id"]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "Refusé : aucun document que vous puissiez lire" in err
    assert "Refused: no document you may read under this id" in err
    assert ps("pharmacist", "read", host.ins, "0" * 32) == EXIT_REFUSED
    assert capsys.readouterr().err == err
    assert (
        ps(
            "emergency",
            "list",
            host.ins,
            "--mode",
            "break-glass",
            "--reason",
            "Patiente inconsciente",
        )
        == EXIT_OK
    )
    capsys.readouterr()
    note = tmp_path / "note.txt"
    note.write_text("Consultation du jour.\nTension 12/8.", "utf-8")
    assert (
        ps(
            "author",
            "deposit",
            host.ins,
            "--type",
            "11488-4",
            "--title",
            "Consultation",
            "--file",
            str(note),
            "--json",
        )
        == EXIT_OK
    )
    doc = json.loads(capsys.readouterr().out)
    assert ps("author", "read", host.ins, doc["id"], "--json") == EXIT_OK
    assert "Tension 12/8." in json.loads(capsys.readouterr().out)["content"]
    assert (
        main(
            [
                "host",
                "practitioner",
                "--url",
                "http://127.0.0.1:9",
                "--rpps",
                "1",
                "--credential",
                "x",
                "list",
                host.ins,
            ]
        )
        == EXIT_USAGE
    )
    assert "does not answer" in capsys.readouterr().err


def test_the_app_gets_the_config_files_theme_and_ins_and_a_stable_device_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screens.app import DmpApp

    (tmp_path / "config" / "dmptui").mkdir(parents=True)
    (tmp_path / "config" / "dmptui" / "config.toml").write_text(
        'theme = "light"\nins = "284057512345672"\nlang = "fr"\n', "utf-8"
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("DMPTUI_THEME", raising=False)
    seen = []
    # pytest's output is not a terminal, which turns screen-reader mode on: say it is one.
    monkeypatch.setattr("dmptui.entry.cli._screen_reader", lambda args, config: None)
    collecting = []

    def run(self: DmpApp, *a: object, **k: object) -> None:
        seen.append(self)
        collecting.append(gc.isenabled())
        gc.enable()  # what the app does once its login screen is painted

    # The app is built as the command builds it; only its event loop is not started.
    monkeypatch.setattr(DmpApp, "run", run)
    try:
        for _ in range(2):
            assert main(["--host", "http://127.0.0.1:9"]) == 0
    finally:
        gc.enable()
    # No garbage collection while the app starts (it paints sooner); the app turns it back on.
    assert collecting == [False, False]
    first, second = seen
    assert first.config.ins == "284057512345672"
    assert first.theme == themes_name("light")
    assert len(first.config.device_id) == 32
    assert second.config.device_id == first.config.device_id  # kept in the data dir
    assert (tmp_path / "data" / "device-id").read_text("ascii") == first.config.device_id
    assert first.client.device_id == first.config.device_id


def themes_name(word: str) -> str:
    from screens import themes

    return themes.ALIASES[word]


def test_serve_no_migrate_refuses_an_old_schema_and_maintain_runs_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'replica.sqlite3'}"
    # A replica that must not change the schema refuses to start on one that is not current.
    assert main(["host", "serve", "--db", db, "--no-migrate", "--port", "9"]) == EXIT_REFUSED
    assert "dmptui host init" in capsys.readouterr().err
    assert main(["host", "init", "--db", db]) == EXIT_OK
    # The maintenance rounds without HTTP, for a process of their own.
    assert main(["host", "maintain", "--db", db, "--once"]) == EXIT_OK
    assert main(["host", "serve", "--workers", "0"]) == EXIT_USAGE
    capsys.readouterr()


def test_rotate_ledger_key_on_a_fresh_host(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`host init` makes the first trace signing key; each rotation replaces the key file and
    names the key it replaced."""
    db = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    assert main(["host", "init", "--db", db]) == EXIT_OK
    first = (data_dir / "ledger.key").read_text()
    capsys.readouterr()
    assert main(["host", "rotate-ledger-key", "--db", db, "--json"]) == EXIT_OK
    one = json.loads(capsys.readouterr().out)
    assert (data_dir / "ledger.key").read_text() != first
    assert one["ledger_key"] == str(data_dir / "ledger.key") and not one["restart_needed"]
    assert main(["host", "rotate-ledger-key", "--db", db, "--json"]) == EXIT_OK
    two = json.loads(capsys.readouterr().out)
    assert two["old_key_id"] == one["key_id"] != two["key_id"]


def test_a_config_file_that_is_not_toml_is_said_and_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmptui.entry.cli import _config_file

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert _config_file() == {}  # no file: nothing said
    assert capsys.readouterr().err == ""
    path = tmp_path / "config" / "dmptui" / "config.toml"
    path.parent.mkdir(parents=True)
    for content in (b'lang = "fr', b'lang = "\xff"'):  # not TOML; not UTF-8
        path.write_bytes(content)
        assert _config_file() == {}
        assert "is not valid TOML" in capsys.readouterr().err
    path.write_text('lang = "en"\n', "utf-8")
    assert _config_file() == {"lang": "en"}
