"""What is installed: ``pip install dmptui`` brings the patient's app alone; the record host
(``dmptui/host``: ``dmptui host …``, ``dmptui demo``) comes with the extra ``dmptui[host]``
(pyproject.toml). Standard library only: ``dmptui --help`` and the doctor import it."""

from __future__ import annotations

# The host's own modules, as imported (not the distributions' names): argon2 is argon2-cffi.
HOST_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "argon2", "pyotp")
HOST_EXTRA = "dmptui[host]"


def missing_host_modules() -> list[str]:
    """The host's modules that are not installed (none where ``dmptui[host]`` is)."""
    from importlib.util import find_spec

    return [name for name in HOST_MODULES if find_spec(name) is None]


def host_extra_problem(command: str) -> str | None:
    """What to install, in French and English, when ``command`` needs the host and the extra is
    not installed; None when it is."""
    missing = missing_host_modules()
    if not missing:
        return None
    names = ", ".join(missing)
    return (
        f"Erreur : « {command} » a besoin de l'hébergeur du dossier, qui n'est pas installé (il "
        f"manque {names}). Installez l'extra « host » : pip install '{HOST_EXTRA}' (ou "
        f"uv pip install '{HOST_EXTRA}'), puis relancez. L'application seule se connecte à un "
        "hébergeur existant : dmptui --host URL.\n"
        f"Error: “{command}” needs the record host, which is not installed ({names} missing). "
        f"Install the “host” extra: pip install '{HOST_EXTRA}' (or uv pip install "
        f"'{HOST_EXTRA}'), then run it again. The app alone connects to an existing host: "
        "dmptui --host URL."
    )
