"""The `dmptui` command: host init, seed-demo, purge, practitioner; exit codes 0 / 2 / 3."""

from __future__ import annotations

import base64
import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostkit import LiveHost

from dmptui.entry.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from dmptui.identifiers import ins_key

ROOT = Path(__file__).resolve().parents[1]


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
    assert set(creds) == {"patient", "practitioners", "new_patient"}
    assert {"ins", "password", "totp_secret"} <= set(creds["patient"])
    # The second patient: a record opened by the pharmacist, to activate with the letter's code.
    assert {"ins", "password", "activation_code"} <= set(creds["new_patient"])
    assert creds["new_patient"]["ins"] != creds["patient"]["ins"]
    roles = {p["role"] for p in creds["practitioners"]}
    assert {"author", "authorised", "attending", "emergency", "regulation", "pharmacist"} <= roles
    assert all(p["credential"] and p["rpps"] for p in creds["practitioners"])
    # Seeding twice is refused by the rules of the command, not a crash.
    assert main(["host", "seed-demo", "--db", db]) == EXIT_REFUSED
    capsys.readouterr()
    assert main(["host", "purge", "--db", db, "--now", "2040-01-01", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["erased"] == 0


def test_seed_demo_json_logs_in_and_activates_over_http(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The printed fields keep their meaning: the demo patient logs in with the printed TOTP
    secret, as before; the second patient activates with the printed code."""
    import pyotp
    from hostkit import serve

    from dmptui.host.app import create_app

    db = f"sqlite:///{tmp_path / 'seeded.sqlite3'}"
    assert main(["host", "seed-demo", "--db", db, "--json"]) == EXIT_OK
    creds = json.loads(capsys.readouterr().out)
    with serve(create_app(db, tmp_path / "data")) as url, httpx.Client(base_url=url) as http:
        p = creds["patient"]
        login = http.post("/v1/auth/login", json={"ins": p["ins"], "password": p["password"]})
        assert login.json()["activation_required"] is False
        code = pyotp.TOTP(p["totp_secret"]).now()
        r = http.post(
            "/v1/auth/verify", json={"challenge": login.json()["challenge"], "code": code}
        )
        assert r.status_code == 200, r.text
        new = creds["new_patient"]
        login = http.post("/v1/auth/login", json={"ins": new["ins"], "password": new["password"]})
        assert login.json()["activation_required"] is True and login.json()["enrolment"] is None
        r = http.post(
            "/v1/auth/activate",
            json={
                "challenge": login.json()["challenge"],
                "activation_code": new["activation_code"],
            },
        )
        assert r.status_code == 200 and r.json()["secret"], r.text
    # Without --json the code is printed too.
    db2 = f"sqlite:///{tmp_path / 'seeded2.sqlite3'}"
    assert main(["host", "seed-demo", "--db", db2]) == EXIT_OK
    text = capsys.readouterr().out
    assert "Activation code (letter)" in text and "Provisional password" in text
    assert "Secret TOTP" in text


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["host", "nonsense"]) == EXIT_USAGE
    assert main(["--lang", "de"]) == EXIT_USAGE
    assert main(["hots"]) == EXIT_USAGE  # a misspelt command is named among all the commands
    assert "choose from" in capsys.readouterr().err.replace("\n", " ")


def test_the_app_alone_is_parsed_without_the_other_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``dmptui [demo] [--host URL] [--lang L] [--screen-reader]`` builds only the app's parser
    (start-up); anything else, help included, gets every command."""
    from dmptui.entry.cli import _app_only

    for argv in ([], ["demo"], ["--host", "http://h", "--lang", "fr"], ["--lang=en", "demo"]):
        assert _app_only(argv), argv
    for argv in (["--help"], ["doctor"], ["host", "init"], ["--version"], ["export"], ["hots"]):
        assert not _app_only(argv), argv
    assert main(["--help"]) == EXIT_OK
    text = capsys.readouterr().out
    for command in ("demo", "doctor", "export", "verify-export", "host"):
        assert command in text


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
    # Opening a record: the provisional password is printed, the code goes by letter.
    fresh = "1850533063045"
    fresh += f"{ins_key(fresh):02d}"
    opening = ("open", fresh, "--name", "Léa Dubois", "--phone", "06 11 22 33 44")
    assert ps("pharmacist", *opening, "--email", "lea@example.org") == EXIT_OK
    out = capsys.readouterr().out
    assert "Provisional password, to hand to the patient" in out and "by letter" in out
    assert host.sql("SELECT phone FROM records WHERE ins = :i", {"i": fresh}) == [
        ("+33 6 11 22 33 44",)
    ]
    assert ps("pharmacist", *opening) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "Refusé : un dossier existe déjà pour cet INS" in err and '"field": "ins"' in err
    nurse = next(p for p in host.creds["practitioners"] if p["profession"] == "infirmier")
    assert (
        main(
            [
                *("host", "practitioner", "--url", host.url, "--rpps", nurse["rpps"]),
                *("--credential", nurse["credential"], "open", fresh, "--name", "X"),
            ]
        )
        == EXIT_REFUSED
    )
    assert "seul un médecin ou un pharmacien" in capsys.readouterr().err
    assert ps("pharmacist", "open", fresh[:-1] + "0", "--name", "X", "--email", "x") == EXIT_USAGE
    assert '"field": "email"' in capsys.readouterr().err
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


def test_a_config_file_that_is_not_toml_stops_the_app_and_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before issue 14 a broken config file was said and ignored (and a keymap in it silently
    lost); now, like every bad setting (dmptui.settings), it stops ``dmptui`` with exit 2 and
    says which file, what is wrong and what is allowed, in French and English, no traceback."""
    from dmptui import settings

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert settings.load().config_path is None  # no file: nothing said, nothing read
    path = tmp_path / "config" / "dmptui" / "config.toml"
    path.parent.mkdir(parents=True)
    for content in (b'lang = "fr', b'lang = "\xff"'):  # not TOML; not UTF-8
        path.write_bytes(content)
        assert main(["--host", "http://127.0.0.1:9"]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert f"the file {path}" in err and "not valid TOML" in err, err
        assert f"le fichier {path}" in err and "pas du TOML valide" in err, err
        assert "Traceback" not in err
    path.write_text('lang = "en"\n', "utf-8")
    assert settings.load().lang == "en"


# --- the practitioner command in its own process, against the real host -----------------------


def practitioner_cli(
    host: LiveHost, role: str, *args: str, stdout: int | None = None
) -> subprocess.Popen[bytes]:
    import os

    p = host.practitioner(role)
    cmd = [sys.executable, "-m", "dmptui.entry", "host", "practitioner", "--url", host.url]
    cmd += ["--rpps", p["rpps"], "--credential", p["credential"], *args]
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
        cwd=ROOT,
    )


def run_practitioner(host: LiveHost, role: str, *args: str) -> tuple[int, str, str]:
    proc = practitioner_cli(host, role, *args)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


def deposit_file(host: LiveHost, path: Path) -> tuple[int, str, str]:
    return run_practitioner(
        host,
        "author",
        "deposit",
        host.ins,
        "--type",
        "11488-4",
        "--title",
        path.name,
        "--file",
        str(path),
        "--json",
    )


def read_back(host: LiveHost, doc_id: str) -> dict[str, Any]:
    code, out, err = run_practitioner(host, "author", "read", host.ins, doc_id, "--json")
    assert code == EXIT_OK, err
    return json.loads(out)


def test_files_are_deposited_with_their_exact_bytes_and_type(
    host: LiveHost, tmp_path: Path
) -> None:
    # Text written on Windows: CR LF line ends, kept as they are (no longer refused).
    crlf = tmp_path / "cr-windows.txt"
    crlf.write_bytes("Consultation du 3 mars.\r\nTension 12/8.\r\n\r\nÀ revoir.\r\n".encode())
    code, out, err = deposit_file(host, crlf)
    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert doc["content_type"] == "text/plain"
    assert read_back(host, doc["id"])["content"].encode("utf-8") == crlf.read_bytes()
    # A PDF whose bytes are not UTF-8 (a binary stream): kept byte for byte.
    pdf = tmp_path / "scan"  # no extension: the first bytes say what it is
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\nstream\n\x00\xff\xfe\x80\nendstream\n%%EOF\n")
    code, out, err = deposit_file(host, pdf)
    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert doc["content_type"] == "application/pdf"
    content = read_back(host, doc["id"])["content_base64"]
    assert base64.b64decode(content) == pdf.read_bytes()
    # CR LF typed on the command line too.
    code, out, err = run_practitioner(
        host, "author", "deposit", host.ins, "--type", "11488-4", "--title", "T",
        "--text", "ligne 1\r\nligne 2", "--json",
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert read_back(host, json.loads(out)["id"])["content"] == "ligne 1\r\nligne 2"


def test_binary_and_non_utf8_files_are_deposited_as_they_are(
    host: LiveHost, tmp_path: Path
) -> None:
    """Text from older software (Windows-1252) and binary files (an image whose name lies)
    are deposited with the type their bytes say and the bytes kept; the patient gets them back
    byte for byte, the text readable. Only a file that cannot be read is refused."""
    import base64

    patient = host.login()
    latin1 = tmp_path / "ancien.txt"
    raw = "Compte-rendu opératoire, fièvre à 39°, cœur régulier.\r\n".encode("cp1252")
    latin1.write_bytes(raw)
    code, out, err = deposit_file(host, latin1)
    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert doc["content_type"] == "text/plain; charset=windows-1252"
    assert base64.b64decode(read_back(host, doc["id"])["content_base64"]) == raw
    got = patient.get(f"/v1/record/documents/{doc['id']}/content")
    assert got.content == raw and "windows-1252" in got.headers["content-type"]
    png = tmp_path / "radio.jpg"  # the name lies; the first bytes do not
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    png.write_bytes(image)
    code, out, err = deposit_file(host, png)
    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert doc["content_type"] == "image/png"
    assert patient.get(f"/v1/record/documents/{doc['id']}/content").content == image
    odd = tmp_path / "mesure.dat"  # no type the contract names: any bytes, kept
    odd.write_bytes(b"\x00\x01\x02\xff" * 10)
    code, out, err = deposit_file(host, odd)
    assert code == EXIT_OK, err
    assert json.loads(out)["content_type"] == "application/octet-stream"
    missing = tmp_path / "absent.pdf"
    code, _out, err = deposit_file(host, missing)
    assert code == EXIT_USAGE and f"The file {missing} cannot be read" in err
    assert "Traceback" not in err


def test_a_closed_pipe_ends_quietly(host: LiveHost) -> None:
    """`list … | head`: the reader goes away before the command writes; it stops quietly."""
    proc = practitioner_cli(host, "author", "list", host.ins, "--json")
    assert proc.stdout is not None
    proc.stdout.close()  # nobody reads: the command's write meets a closed pipe
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert err.decode() == ""  # no traceback, no "Exception ignored"
    # And through a shell, as a person types it.
    p = host.practitioner("author")
    shell = subprocess.run(
        [
            "bash",
            "-c",
            f'"{sys.executable}" -m dmptui.entry host practitioner --url {host.url} '
            f"--rpps {p['rpps']} --credential {p['credential']} list {host.ins} --json | head -1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert shell.stdout == "{\n" and shell.stderr == "", shell.stderr
