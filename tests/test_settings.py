"""The settings model (``dmptui.settings``): one precedence order (flags > env > file > defaults),
errors that name the setting, its source and what is allowed, the ``[keymap]`` table, and a
remapped key that works in the real app and shows in its help. Real config files in tmp dirs, a
real environment, the real command in a subprocess, the real app on the real host."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tuikit import goto, login, make_app, settled, status, wait_for

from dmptui import catalogue, settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config file's path under a fresh XDG_CONFIG_HOME, with no DMPTUI_* variable set."""
    for name in list(os.environ):
        if name.startswith("DMPTUI_") and name != "DMPTUI_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "xdg" / "dmptui" / "config.toml"
    path.parent.mkdir(parents=True)
    assert settings.config_path() == path
    return path


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dmptui.entry", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


# --- one precedence order --------------------------------------------------------------------


def test_flags_win_over_the_environment_which_wins_over_the_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text('host = "https://file.example"\ntheme = "light"\nins = "1"\n', "utf-8")
    s = settings.load()
    assert (s.host, s.theme, s.ins) == ("https://file.example", "light", "1")
    assert s.sources["host"] == settings.Source(settings.FILE, "host", config)
    assert s.config_path == config

    monkeypatch.setenv("DMPTUI_HOST", "https://env.example")
    monkeypatch.setenv("DMPTUI_THEME", "high-contrast")
    s = settings.load()
    assert (s.host, s.theme) == ("https://env.example", "high-contrast")
    assert s.sources["host"] == settings.Source(settings.ENV, "DMPTUI_HOST")

    s = settings.load({"host": "http://flag.example:8000"})
    assert s.host == "http://flag.example:8000"
    assert str(s.sources["host"]) == "the option --host"
    # An empty variable counts as not set: the file's value is used.
    monkeypatch.setenv("DMPTUI_HOST", "")
    assert settings.load().host == "https://file.example"
    # Nothing anywhere: the default.
    config.unlink()
    assert settings.load().host is None and settings.load().config_path is None


def test_typed_values(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMPTUI_SMTP_PORT", "587")
    monkeypatch.setenv("DMPTUI_SMTP_STARTTLS", "yes")
    monkeypatch.setenv("DMPTUI_MAINTENANCE_EVERY", "2.5")
    monkeypatch.setenv("DMPTUI_DATA_DIR", "~/dmp-data")
    config.write_text("screen_reader = true\n", "utf-8")
    s = settings.load()
    assert s.smtp_port == 587 and s.smtp_starttls is True and s.maintenance_every == 2.5
    assert s.data_dir == Path.home() / "dmp-data"
    assert s.screen_reader is True
    assert s.smtp_from == "dmp@localhost"  # the default


def test_every_dmptui_variable_is_read_through_the_model() -> None:
    """No module but dmptui/settings.py reads a DMPTUI_* variable; every variable the code
    names is one of the model's, and docs/settings.md lists every variable, key and binding."""
    reads = re.compile(r"""(environ\.get|environ\[|getenv|env\.get|env\[)\(?\s*["']DMPTUI_""")
    named = re.compile(r"DMPTUI_[A-Z_]+")
    found: set[str] = set()
    for path in [*(ROOT / "dmptui").rglob("*.py"), *(ROOT / "screens").rglob("*.py")]:
        text = path.read_text("utf-8")
        if path.name != "settings.py":
            assert not reads.search(text), path
        found |= set(named.findall(text))
    assert found <= set(settings.ENV_VARS), found - set(settings.ENV_VARS)
    assert len(settings.ENV_VARS) == 16
    doc = (ROOT / "docs" / "settings.md").read_text("utf-8")
    for word in (*settings.ENV_VARS, *settings.FILE_KEYS, *catalogue.DEFAULT_KEYS):
        assert f"`{word}`" in doc, word
    assert "docs/settings.md" in (ROOT / "README.md").read_text("utf-8")


# --- errors: the setting, its source, what is allowed ------------------------------------------


def test_a_bad_value_names_the_setting_its_source_and_what_is_allowed(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DMPTUI_SMTP_PORT", "vingt-cinq")
    with pytest.raises(settings.SettingsError) as e:
        settings.load()
    assert e.value.setting == "smtp_port"
    assert str(e.value.source) == "the environment variable DMPTUI_SMTP_PORT"
    fr, en = str(e.value).splitlines()
    assert en == (
        'Invalid setting "smtp_port" (the environment variable DMPTUI_SMTP_PORT): '
        '"vingt-cinq". Allowed: a port, 1 to 65535. Correct it or remove it '
        "(docs/settings.md)."
    )
    assert fr.startswith("Réglage « smtp_port » invalide (la variable d'environnement")
    monkeypatch.delenv("DMPTUI_SMTP_PORT")

    config.write_text('lang = "de"\n', "utf-8")
    with pytest.raises(settings.SettingsError, match=re.escape(f"the file {config}, key lang")):
        settings.load()
    config.write_text('colour = "blue"\n', "utf-8")  # a typo would otherwise be ignored
    with pytest.raises(settings.SettingsError, match="unknown key") as e:
        settings.load()
    assert e.value.setting == "colour"
    config.write_text("", "utf-8")
    with pytest.raises(settings.SettingsError, match="the option --maintenance-every"):
        settings.load({"maintenance_every": -1.0})


def test_a_secret_is_never_shown_in_an_error() -> None:
    spec = settings.BY_NAME["smtp_password"]
    assert spec.secret and not spec.key  # from the environment only, never from the file
    source = settings.Source(settings.ENV, spec.env)
    error = settings.SettingsError(spec.name, source, spec.allowed, "hunter2", spec.secret)
    assert "hunter2" not in str(error) and "DMPTUI_SMTP_PASSWORD" in str(error)
    assert all(not s.key for s in settings.SPECS if s.secret)


def test_the_command_says_a_bad_setting_and_exits_2_without_a_traceback(
    config: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "DMPTUI_DATA_DIR": str(tmp_path / "data")}
    env["DMPTUI_THEME"] = "blue\x1b[31m"
    out = run_cli("--host", "http://127.0.0.1:9", env=env)
    assert out.returncode == 2
    assert 'Invalid setting "theme" (the environment variable DMPTUI_THEME)' in out.stderr
    assert "<U+001B>" in out.stderr and "\x1b" not in out.stderr  # shown, never acted on
    assert "Allowed: dark, light, high-contrast, contrast." in out.stderr
    assert "Réglage « theme » invalide" in out.stderr
    assert "Traceback" not in out.stderr
    del env["DMPTUI_THEME"]
    out = run_cli("--host", "ftp://example", env=env)
    assert out.returncode == 2
    assert 'Invalid setting "host" (the option --host): "ftp://example". Allowed: an http://' in (
        out.stderr
    )
    config.write_text('[keymap]\n"documents.mask" = "u"\n', "utf-8")
    out = run_cli("--host", "http://127.0.0.1:9", env=env)
    assert out.returncode == 2
    assert (
        f'Invalid setting "keymap.documents.mask" (the file {config}, key keymap.documents.mask)'
        ': "u" — two actions on one key. Allowed: a key free on that screen ("u" is already '
        "documents.unmask's)."
    ) in out.stderr
    assert "Traceback" not in out.stderr
    # The host's own commands read theirs through the same model, before doing anything.
    out = run_cli("host", "serve", "--maintenance-every", "-3", "--port", "9", env=env)
    assert out.returncode == 2
    assert 'Invalid setting "maintenance_every" (the option --maintenance-every)' in out.stderr


# --- the keymap ---------------------------------------------------------------------------------


def test_keymap_entries_are_checked(config: Path) -> None:
    def refused(table: str) -> settings.SettingsError:
        config.write_text("[keymap]\n" + table, "utf-8")
        with pytest.raises(settings.SettingsError) as e:
            settings.load()
        assert f"the file {config}, key keymap." in str(e.value)
        return e.value

    assert "unknown id" in str(refused('"documents.hide" = "h"\n'))
    assert refused('"documents.hide" = "h"\n').setting == "keymap.documents.hide"
    assert "Allowed: keys separated by commas" in str(refused('"app.quit" = "ctlr+q"\n'))
    assert "Allowed: keys separated by commas" in str(refused('"app.quit" = 5\n'))
    assert "a reserved key" in str(refused('"documents.mask" = "ctrl+c"\n'))
    # On every screen, a key of the app clashes with a screen's own key.
    clash = refused('"app.logout" = "m"\n')
    assert '"m" is already documents.mask\'s' in str(clash)
    # Two entries moved onto one key.
    assert "two actions on one key" in str(
        refused('"trace.filter" = "x"\n"trace.emergency_only" = "x"\n')
    )
    # The same key on two screens is no clash; names are Textual's ("?" is question_mark).
    config.write_text(
        '[keymap]\n"documents.mask" = "h"\n"practitioners.grant" = "h"\n"app.help" = "?, F7"\n',
        "utf-8",
    )
    assert settings.load().keymap == {
        "documents.mask": "h",
        "practitioners.grant": "h",
        "app.help": "question_mark,f7",
    }


def test_the_default_keys_do_not_clash() -> None:
    everything = {bid: key for bid, (_scope, key) in catalogue.DEFAULT_KEYS.items()}
    assert settings.check_keymap(everything, None) == everything


def test_a_remapped_key_works_in_the_app_and_shows_in_its_help(
    host: Any, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DMPTUI_SAVE_DIR", str(tmp_path))
    config.write_text('[keymap]\n"documents.mask" = "h"\n"app.help" = "f7"\n', "utf-8")
    keymap = settings.load().keymap
    title = "Ordonnance — sertraline"

    async def run() -> None:
        app = make_app(host, "en", keymap=dict(keymap))
        async with app.run_test(size=(160, 45)) as pilot:
            await login(pilot, host)
            await goto(pilot, "documents")
            await settled(pilot)
            await pilot.press("slash", *"sertr", "enter")
            await settled(pilot)
            assert [d.title for d in app.screen.rows] == [title]
            await pilot.press("m")  # the old key does nothing now
            await pilot.pause(0.2)
            assert "MASQUE_PS" not in host.labels_of(title)
            await pilot.press("h")
            await settled(pilot)
            assert f'Done: "{title}" is now hidden from practitioners.' in status(app)
            assert "MASQUE_PS" in host.labels_of(title)
            bar = {b.binding.id: key for key, b in app.screen.active_bindings.items()}
            assert bar["documents.mask"] == "h" and bar["app.help"] == "f7"
            await pilot.press("f1")  # no longer help
            await pilot.pause(0.2)
            assert app.screen.__class__.__name__ == "DocumentsScreen"
            await pilot.press("f7")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
            text = str(app.screen.query_one("#help-text").render())
            assert re.search(r"^h +Hide from practitioners — ", text, re.M), text
            assert re.search(r"^F7 +Help — ", text, re.M), text
            assert not re.search(r"^m +Hide", text, re.M)
            assert re.search(r"^u +Show to practitioners", text, re.M)  # not moved

    asyncio.run(run())
