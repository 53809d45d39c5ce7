"""Every setting of dmptui, in one typed, validated model (``Settings``), read from one place.

Where a setting comes from, first found wins: a command-line option (flag), then the
environment (``DMPTUI_*``), then the config file (``config.toml`` in the XDG config dir), then the
default. ``SPECS`` lists each setting with the sources it may come from and what it allows;
``docs/settings.md`` says the same for people. A bad value is a ``SettingsError`` that names the
setting, where it came from (the option, the variable, or the file and key) and what is allowed,
in French and English; ``dmptui`` prints it and exits 2, no traceback.

Secrets (the master key, the trace signing key, the SMTP password, the SMS gateway token) come
from the environment only, never from a file a patient may paste to support, and are never
shown in an error.

Only the standard library, and no I/O at import: ``dmptui`` reads its settings before it paints
the login screen (``tests/test_layers.py``), and the host reads its own through ``value``."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_NAME = "config.toml"
LANGUAGES = ("fr", "en")
THEMES = ("dark", "light", "high-contrast", "contrast")
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})

FLAG, ENV, FILE, DEFAULT = "flag", "env", "file", "default"


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a value came from: an option, a variable, a file's key, or the default."""

    kind: str  # FLAG, ENV, FILE, DEFAULT
    name: str = ""  # "--host", "DMPTUI_HOST", "keymap.documents.mask"
    path: Path | None = None  # the config file

    def words(self) -> tuple[str, str]:
        """(French, English)."""
        if self.kind == FLAG:
            return f"l'option {self.name}", f"the option {self.name}"
        if self.kind == ENV:
            return (
                f"la variable d'environnement {self.name}",
                f"the environment variable {self.name}",
            )
        if self.kind == FILE:
            where = f"{self.path}" if self.path else CONFIG_NAME
            if not self.name:
                return f"le fichier {where}", f"the file {where}"
            return f"le fichier {where}, clé {self.name}", f"the file {where}, key {self.name}"
        return "la valeur par défaut", "the default"

    def __str__(self) -> str:
        return self.words()[1]


class SettingsError(ValueError):
    """A setting with a bad value: which one, from where, what is allowed (FR and EN)."""

    def __init__(
        self,
        setting: str,
        source: Source,
        allowed: tuple[str, str],
        value: object = None,
        secret: bool = False,
        problem: tuple[str, str] | None = None,
    ) -> None:
        self.setting, self.source, self.allowed = setting, source, allowed
        where_fr, where_en = source.words()
        shown = "" if secret or value is None else _shown(value)
        fr_problem, en_problem = problem or ("", "")
        fr = (
            f"Réglage « {setting} » invalide ({where_fr})"
            + (f" : « {shown} »" if shown else "")
            + (f" — {fr_problem}" if fr_problem else "")
            + f". Permis : {allowed[0]}. Corrigez-le ou retirez-le (docs/settings.md)."
        )
        en = (
            f'Invalid setting "{setting}" ({where_en})'
            + (f': "{shown}"' if shown else "")
            + (f" — {en_problem}" if en_problem else "")
            + f". Allowed: {allowed[1]}. Correct it or remove it (docs/settings.md)."
        )
        super().__init__(f"{fr}\n{en}")


def _shown(value: object, limit: int = 80) -> str:
    """A value in an error: control characters as <U+001B>, one line, not too long."""
    text = "".join(
        f"<U+{ord(c):04X}>" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
        for c in str(value)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- value types -------------------------------------------------------------------------------


def _text(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError
    return raw.strip()


def _url(raw: object) -> str:
    text = _text(raw)
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
        raise ValueError
    return text


def _choice(*allowed: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        text = _text(raw).lower()
        if text not in allowed:
            raise ValueError
        return text

    return parse


def _bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError


def _port(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError
    value = raw if isinstance(raw, int) else int(_text(raw))
    if not 1 <= value <= 65535:
        raise ValueError
    return value


def _seconds(raw: object) -> float:
    if isinstance(raw, bool):
        raise ValueError
    value = float(raw) if isinstance(raw, int | float) else float(_text(raw))
    if not 0 <= value < float("inf"):
        raise ValueError
    return value


def _secret(raw: object) -> str:
    """A secret as given (spaces are not trimmed: they may be part of it)."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError
    return raw


def _path(raw: object) -> Path:
    return Path(_text(raw)).expanduser()


def _ins(raw: object) -> str:
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else _text(raw)
    if not text.isascii() or not text.replace(" ", "").isalnum():
        raise ValueError
    return text


# --- keys (the keymap) -------------------------------------------------------------------------

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
NAMED_KEYS = frozenset(
    {
        "escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end",
        "pageup", "pagedown", "up", "down", "left", "right",
        *(f"f{n}" for n in range(1, 25)),
    }
)  # fmt: skip
# Textual's names of the printable ASCII symbols ("/" is "slash", "?" "question_mark"): the
# Unicode name, lower case, spaces and dashes as underscores, and six shorter names.
_SHORTER = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}
SYMBOL_NAMES: dict[str, str] = {}  # "slash" -> "/"
for _code in range(0x21, 0x7F):
    _char = chr(_code)
    if not _char.isalnum():
        _name = unicodedata.name(_char).lower().replace("-", "_").replace(" ", "_")
        SYMBOL_NAMES[_SHORTER.get(_name, _name)] = _char
_BY_SYMBOL = {char: name for name, char in SYMBOL_NAMES.items()}
KEYS_ALLOWED = (
    "des touches séparées par des virgules, chacune une lettre, un chiffre, un signe, un nom "
    "(escape, enter, tab, space, up, pageup, f1 à f24…), avec ctrl+, shift+, alt+ devant",
    "keys separated by commas, each a letter, a digit, a sign, a name (escape, enter, tab, "
    "space, up, pageup, f1 to f24…), with ctrl+, shift+, alt+ in front",
)
# Keys a keymap cannot take: the app's own (Ctrl+C says how to quit) and those that move the
# focus and the cursor in every list and field.
RESERVED_KEYS = frozenset(
    {"ctrl+c", "tab", "shift+tab", "up", "down", "left", "right", "pageup", "pagedown"}
)


def normal_key(key: str) -> str:
    """A key as Textual names it ("Ctrl+Q" -> "ctrl+q", "?" -> "question_mark"); ValueError if it
    is none."""
    key = key.strip()
    if not key:
        raise ValueError
    if len(key) == 1:
        parts = [key]
    else:
        *mods, last = key.split("+") if not key.endswith("+") else [*key[:-2].split("+"), "+"]
        parts = [*(m.strip().lower() for m in mods), last.strip()]
    *mods, last = parts
    if any(m not in MODIFIERS for m in mods) or len(set(mods)) != len(mods):
        raise ValueError
    if len(last) == 1:
        if last.isascii() and last.isalnum():
            final = last.lower() if mods else last
        elif last in _BY_SYMBOL:
            final = _BY_SYMBOL[last]
        else:
            raise ValueError
    else:
        final = last.lower()
        if final not in NAMED_KEYS and final not in SYMBOL_NAMES:
            raise ValueError
    ordered = [m for m in MODIFIERS if m in mods]
    return "+".join([*ordered, final])


def check_keymap(raw: object, path: Path | None) -> dict[str, str]:
    """The ``[keymap]`` table: binding id -> keys (Textual's names, commas between keys). Unknown
    ids, keys that are not keys, reserved keys and two bindings on one key where both work are
    each a SettingsError naming the entry."""
    from dmptui.catalogue import DEFAULT_KEYS

    table = Source(FILE, "keymap", path)
    if not isinstance(raw, Mapping):
        raise SettingsError(
            "keymap",
            table,
            ('une table [keymap] : id = "touche"', 'a [keymap] table: id = "key"'),
        )
    keymap: dict[str, str] = {}
    for bid, keys in raw.items():
        where = Source(FILE, f"keymap.{bid}", path)
        if bid not in DEFAULT_KEYS:
            raise SettingsError(
                f"keymap.{bid}",
                where,
                (
                    "un id de la liste de docs/settings.md (par ex. documents.mask, app.quit)",
                    "an id listed in docs/settings.md (e.g. documents.mask, app.quit)",
                ),
                problem=("id inconnu", "unknown id"),
            )
        try:
            if not isinstance(keys, str):
                raise ValueError
            normal = [normal_key(k) for k in keys.split(",")]
        except ValueError:
            raise SettingsError(f"keymap.{bid}", where, KEYS_ALLOWED, keys) from None
        taken = [k for k in normal if k in RESERVED_KEYS]
        if taken:
            raise SettingsError(
                f"keymap.{bid}",
                where,
                (
                    "une touche autre que " + ", ".join(sorted(RESERVED_KEYS)),
                    "a key other than " + ", ".join(sorted(RESERVED_KEYS)),
                ),
                keys,
                problem=("touche réservée", "a reserved key"),
            )
        keymap[bid] = ",".join(dict.fromkeys(normal))
    _check_clashes(keymap, path)
    return keymap


def _check_clashes(keymap: Mapping[str, str], path: Path | None) -> None:
    """Two bindings on one key, where both work (the same screen, or one on every screen)."""
    from dmptui.catalogue import DEFAULT_KEYS

    keys = {bid: keymap.get(bid, key).split(",") for bid, (_scope, key) in DEFAULT_KEYS.items()}
    ids = list(DEFAULT_KEYS)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if a not in keymap and b not in keymap:
                continue  # the defaults do not clash (a test holds them)
            scope_a, scope_b = DEFAULT_KEYS[a][0], DEFAULT_KEYS[b][0]
            if scope_a != scope_b and "*" not in (scope_a, scope_b):
                continue
            same = sorted(set(keys[a]) & set(keys[b]))
            if same:
                moved = a if a in keymap else b
                other = b if moved == a else a
                raise SettingsError(
                    f"keymap.{moved}",
                    Source(FILE, f"keymap.{moved}", path),
                    (
                        f"une touche libre sur cet écran (« {same[0]} » est déjà celle de {other})",
                        f'a key free on that screen ("{same[0]}" is already {other}\'s)',
                    ),
                    keymap[moved],
                    problem=("deux actions sur une touche", "two actions on one key"),
                )


# --- the settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    name: str  # the attribute of Settings
    parse: Callable[[object], Any]  # ValueError when the value is not allowed
    allowed: tuple[str, str]  # what is allowed, in French and English
    env: str = ""  # DMPTUI_…
    key: str = ""  # the config file's key
    flag: str = ""  # the command-line option
    secret: bool = False  # never in a file, never shown


_URL = ("une adresse http:// ou https://", "an http:// or https:// address")
_PATH = ("un chemin de dossier", "a folder path")
_TEXT = ("un texte non vide", "a non-empty text")
_SECRET = ("la valeur donnée par l'hébergeur, non vide", "the value the host gave, not empty")
_BOOL = (
    "true ou false (ou 1/0, yes/no, on/off dans l'environnement)",
    "true or false (or 1/0, yes/no, on/off in the environment)",
)

SPECS: tuple[Spec, ...] = (
    # The patient's app.
    Spec("host", _url, _URL, env="DMPTUI_HOST", key="host", flag="--host"),
    Spec("lang", _choice(*LANGUAGES), ("fr ou en", "fr or en"), key="lang", flag="--lang"),
    Spec("ins", _ins, ("un INS (15 chiffres)", "an INS (15 digits)"), key="ins"),
    Spec(
        "theme",
        _choice(*THEMES),
        (", ".join(THEMES), ", ".join(THEMES)),
        env="DMPTUI_THEME",
        key="theme",
    ),
    Spec("screen_reader", _bool, _BOOL, key="screen_reader", flag="--screen-reader"),
    Spec("save_dir", _path, _PATH, env="DMPTUI_SAVE_DIR"),
    # Both.
    Spec("data_dir", _path, _PATH, env="DMPTUI_DATA_DIR"),
    # The host.
    Spec(
        "database_url",
        _text,
        ("une URL SQLAlchemy (sqlite:///…, postgresql+psycopg://…)", "an SQLAlchemy URL"),
        env="DMPTUI_DATABASE_URL",
        flag="--db",
    ),
    Spec(
        "maintenance_every",
        _seconds,
        ("un nombre de secondes, 0 ou plus", "a number of seconds, 0 or more"),
        env="DMPTUI_MAINTENANCE_EVERY",
        flag="--maintenance-every",
    ),
    Spec("master_key", _secret, _SECRET, env="DMPTUI_MASTER_KEY", secret=True),
    Spec("ledger_key", _secret, _SECRET, env="DMPTUI_LEDGER_KEY", secret=True),
    Spec("smtp_host", _text, ("un nom d'hôte", "a host name"), env="DMPTUI_SMTP_HOST"),
    Spec(
        "smtp_port", _port, ("un port, de 1 à 65535", "a port, 1 to 65535"), env="DMPTUI_SMTP_PORT"
    ),
    Spec(
        "smtp_from", _text, ("une adresse électronique", "an email address"), env="DMPTUI_SMTP_FROM"
    ),
    Spec("smtp_user", _secret, _TEXT, env="DMPTUI_SMTP_USER"),
    Spec("smtp_password", _secret, _SECRET, env="DMPTUI_SMTP_PASSWORD", secret=True),
    Spec("smtp_starttls", _bool, _BOOL, env="DMPTUI_SMTP_STARTTLS"),
    Spec("sms_gateway_url", _url, _URL, env="DMPTUI_SMS_GATEWAY_URL"),
    Spec("sms_gateway_token", _secret, _SECRET, env="DMPTUI_SMS_GATEWAY_TOKEN", secret=True),
)
BY_NAME = {s.name: s for s in SPECS}
ENV_VARS = tuple(s.env for s in SPECS if s.env)
FILE_KEYS = (*(s.key for s in SPECS if s.key), "keymap")


@dataclass(frozen=True)
class Settings:
    """What every setting is, once read and checked. ``None``: not set (the code's own default
    applies: the XDG dirs, the locale's language, SQLite under the data dir…)."""

    host: str | None = None
    lang: str | None = None
    ins: str = ""
    theme: str = ""
    screen_reader: bool = False
    save_dir: Path | None = None
    data_dir: Path | None = None
    database_url: str | None = None
    maintenance_every: float | None = None
    master_key: str | None = None
    ledger_key: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "dmp@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    keymap: Mapping[str, str] = field(default_factory=dict)  # binding id -> keys
    config_path: Path | None = None  # the config file read, if there was one
    sources: Mapping[str, Source] = field(default_factory=dict)  # where each set value came from


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """``config.toml`` in the XDG config dir (``XDG_CONFIG_HOME``, else ``~/.config``)."""
    from platformdirs import user_config_dir

    del env  # platformdirs reads XDG_CONFIG_HOME itself
    return Path(user_config_dir("dmptui")) / CONFIG_NAME


def read_file(path: Path) -> dict[str, Any]:
    """The config file's table; {} when there is none. A file that is not UTF-8 TOML, or that
    holds a key no setting has, is a SettingsError (a key with a typo would be ignored)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}  # the usual case: tomllib is not even imported (start-up)
    except OSError as e:
        raise SettingsError(
            CONFIG_NAME,
            Source(FILE, "", path),
            ("un fichier lisible", "a readable file"),
            problem=(f"illisible ({e.strerror})", f"cannot be read ({e.strerror})"),
        ) from None
    import tomllib

    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SettingsError(
            CONFIG_NAME,
            Source(FILE, "", path),
            ("du TOML en UTF-8", "TOML in UTF-8"),
            problem=(f"pas du TOML valide ({e})", f"not valid TOML ({e})"),
        ) from None
    for key in table:
        if key not in FILE_KEYS:
            raise SettingsError(
                key,
                Source(FILE, key, path),
                (
                    "une de ces clés : " + ", ".join(FILE_KEYS),
                    "one of these keys: " + ", ".join(FILE_KEYS),
                ),
                problem=("clé inconnue", "unknown key"),
            )
    return table


def _env_raw(spec: Spec, env: Mapping[str, str]) -> str | None:
    raw = env.get(spec.env) if spec.env else None
    return raw if raw and raw.strip() else None  # set but empty counts as not set


def value(
    name: str,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, object] | None = None,
    file: Mapping[str, Any] | None = None,
    path: Path | None = None,
) -> tuple[Any, Source]:
    """One setting and where it came from: the flag, else the variable, else the file's key,
    else (None, the default). Raises SettingsError if the value found is not allowed."""
    spec = BY_NAME[name]
    env = os.environ if env is None else env
    found: list[tuple[object, Source]] = []
    if spec.flag and flags and flags.get(name) is not None:
        found.append((flags[name], Source(FLAG, spec.flag)))
    if (raw := _env_raw(spec, env)) is not None:
        found.append((raw, Source(ENV, spec.env)))
    if spec.key and file and spec.key in file:
        found.append((file[spec.key], Source(FILE, spec.key, path)))
    if not found:
        return None, Source(DEFAULT)
    raw_value, source = found[0]
    try:
        if spec.parse is _bool and source.kind == FILE and not isinstance(raw_value, bool):
            raise ValueError  # in TOML, true or false without quotes
        return spec.parse(raw_value), source
    except (ValueError, TypeError, OverflowError):
        raise SettingsError(name, source, spec.allowed, raw_value, spec.secret) from None


def env_value(name: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting from the environment alone (or None): for the host, whose settings have no
    config-file key, read where they are used."""
    return value(name, env)[0]


def load(
    flags: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    path: Path | bool | None = True,
) -> Settings:
    """Every setting: ``flags`` (setting name -> the option's value, None when not given), the
    environment, the config file (``path``; True: the usual place; None or False: none)."""
    env = os.environ if env is None else env
    file_path = config_path(env) if path is True else (path or None)
    table = read_file(file_path) if file_path is not None else {}
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for spec in SPECS:
        got, source = value(spec.name, env, flags, table, file_path)
        if got is not None:
            values[spec.name], sources[spec.name] = got, source
    if "keymap" in table:
        values["keymap"] = check_keymap(table["keymap"], file_path)
        sources["keymap"] = Source(FILE, "keymap", file_path)
    exists = file_path is not None and bool(table or file_path.exists())
    return Settings(**values, config_path=file_path if exists else None, sources=sources)
