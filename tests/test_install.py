"""The lean install: the wheel, installed in a fresh virtual environment without the extra
``dmptui[host]``, holds the patient's app alone (no FastAPI, uvicorn, SQLAlchemy, Alembic,
argon2, pyotp). Its ``dmptui`` command starts, logs in to a running host (started from this
test's own environment, which has the host) in screen-reader mode, and the commands that need
the host say in French and English which extra to install, without a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from hostkit import LiveHost

from dmptui.entry.extras import HOST_MODULES

ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = "pip install 'dmptui[host]'"


def uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv is needed to build and install the wheel (the README's tool)")
    return found


def run(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


def lean_env(tmp: Path) -> Path:
    """Build the wheel, make a fresh venv, install the wheel without extras: from uv's cache
    (offline) where it holds everything, else from the index. Returns the venv's bin folder."""
    dist, venv = tmp / "dist", tmp / "venv"
    built = run(uv(), "build", "--wheel", "--offline", "--out-dir", str(dist), cwd=ROOT)
    if built.returncode != 0:
        built = run(uv(), "build", "--wheel", "--out-dir", str(dist), cwd=ROOT)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("dmptui-*.whl")
    made = run(uv(), "venv", "--offline", "--python", sys.executable, str(venv))
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    install = [uv(), "pip", "install", "--python", str(python), str(wheel)]
    done = run(*install, "--offline")
    if done.returncode != 0:  # the cache does not hold every dependency: from the index
        done = run(*install)
    assert done.returncode == 0, done.stderr
    return venv / "bin"


def clean_env(tmp: Path) -> dict[str, str]:
    """Nothing of this repository's environment: no PYTHONPATH, no virtualenv, fresh dirs."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp / "home"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "DMPTUI_DATA_DIR": str(tmp / "data" / "dmptui"),
        "TMPDIR": str(tmp / "t"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    for name in ("home", "config", "data", "t"):
        (tmp / name).mkdir(exist_ok=True)
    return env


@pytest.mark.slow
def test_the_app_installs_and_runs_without_the_host(tmp_path: Path, host: LiveHost) -> None:
    bin_dir = lean_env(tmp_path / "build")
    env = clean_env(tmp_path)
    dmptui = str(bin_dir / "dmptui")
    # Installed outside the repository: the wheel's code, not the working tree's.
    where = run(
        str(bin_dir / "python"),
        "-c",
        "import dmptui, importlib.util as u, sys;"
        f"print(dmptui.__file__); print(*[m for m in {HOST_MODULES!r} if u.find_spec(m)])",
        env=env,
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    location, host_modules = where.stdout.splitlines()
    assert Path(location).is_relative_to(tmp_path / "build" / "venv"), location
    assert host_modules == ""  # none of the host's modules is installed

    shown = run(dmptui, "--help", env=env, cwd=tmp_path)
    assert shown.returncode == 0 and "usage: dmptui" in shown.stdout, shown.stderr

    # What needs the host says which extra to install, in both languages, and no traceback.
    for argv in (["demo"], ["demo", "--screen-reader"], ["host", "init"], ["host", "serve"]):
        r = run(dmptui, *argv, env=env, cwd=tmp_path)
        command = "dmptui " + " ".join(a for a in argv if not a.startswith("--"))
        assert r.returncode == 2, (argv, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout
        assert f"« {command} » a besoin de l'hébergeur du dossier" in r.stderr
        assert f"“{command}” needs the record host, which is not installed" in r.stderr
        assert f"Installez l'extra « host » : {INSTALL_HINT}" in r.stderr
        assert f"Install the “host” extra: {INSTALL_HINT}" in r.stderr
    doctor = run(dmptui, "doctor", "--host", host.url, "--lang", "en", env=env, cwd=tmp_path)
    assert "Traceback" not in doctor.stderr + doctor.stdout
    assert "Record host (dmptui demo, dmptui host): not installed (" in doctor.stdout
    assert INSTALL_HINT in doctor.stdout
    assert "Host answers: yes" in doctor.stdout

    # The app itself, against the running host: log in, the home screen, quit.
    child = pexpect.spawn(
        dmptui,
        ["--host", host.url, "--screen-reader", "--lang", "en"],
        env={**env, "ACCESSIBLE": "1"},
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 250),
    )
    try:
        child.expect_exact("INS (national health identifier, 15 characters):")
        child.sendline(host.ins)
        child.expect_exact("Password (not shown as you type):")
        child.sendline(host.password)
        child.expect_exact("Your choice:")
        child.sendline("1")  # the authenticator app's code
        child.expect_exact("One-time code, 6 digits")
        child.sendline(host.code())
        child.expect_exact("Done: you are logged in.")
        child.expect_exact("Screen: 1 — Home")
        child.expect_exact("Your choice:")
        child.sendline("q")
        child.expect_exact("Done: you left dmptui. Goodbye.")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
