"""A keyring backend that keeps its entries in one JSON file (``FILE_KEYRING`` names it): a real
backend, loaded by name through ``PYTHON_KEYRING_BACKEND`` in a child process, so that a test can
see what the app stored and give it a stored session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def path(self) -> Path:
        return Path(os.environ["FILE_KEYRING"])

    def _all(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._all().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._all()
        entries[f"{service}\n{username}"] = password
        self.path.write_text(json.dumps(entries), "utf-8")

    def delete_password(self, service: str, username: str) -> None:
        entries = self._all()
        entries.pop(f"{service}\n{username}", None)
        self.path.write_text(json.dumps(entries), "utf-8")
