"""Tenant secrets at rest: sealed with a key the operator holds, or kept as references.

A secret given as ``${ENV_VAR}`` (or as ``x_file``, a path) is stored as that reference and
read when the tenant runs. Any other secret value is sealed with Fernet (AES-128-CBC with
HMAC-SHA256, from ``cryptography``) under the keys in ``PROPHUB_SECRET_KEYS`` (comma
separated, newest first; or a file named by ``PROPHUB_SECRET_KEYS_FILE``). Rotation: put the
new key first, keep the old ones after it, run ``prophub tenants rotate``; every sealed value
is then under the new key and the old ones can go.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from hub.errors import ConfigError

__all__ = ["KEYS_ENV", "KEYS_FILE_ENV", "SEALED", "SecretBox", "seal_tenant", "secret_fields"]

KEYS_ENV = "PROPHUB_SECRET_KEYS"
KEYS_FILE_ENV = "PROPHUB_SECRET_KEYS_FILE"
#: the prefix of a sealed value in a stored tenant
SEALED = "sealed:"


class SecretBox:
    """Seals and opens tenant secrets with the operator's keys (the first one seals)."""

    def __init__(self, keys: list[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet  # only where secrets are sealed

        try:
            self._fernet = MultiFernet([Fernet(key.strip()) for key in keys]) if keys else None
        except ValueError:
            raise ConfigError(
                "a key is not a Fernet key (32 url-safe base64-encoded bytes; "
                "`prophub tenants new-key` makes one)",
                key=KEYS_ENV,
            ) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SecretBox:
        """The keys the environment gives, directly or in a file (none: nothing sealed)."""
        env = os.environ if env is None else env
        text = env.get(KEYS_ENV, "")
        if not text and env.get(KEYS_FILE_ENV):
            try:
                text = Path(env[KEYS_FILE_ENV]).read_text().replace("\n", ",")
            except OSError as exc:
                message = f"cannot read the key file: {exc.strerror}"
                raise ConfigError(message, key=KEYS_FILE_ENV) from None
        return cls([key for key in text.split(",") if key.strip()])

    @property
    def has_keys(self) -> bool:
        """Whether there is a key to seal with."""
        return self._fernet is not None

    @staticmethod
    def new_key() -> str:
        """A new random key."""
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    def seal(self, value: str) -> str:
        """The value sealed under the newest key."""
        if self._fernet is None:
            raise ConfigError(
                f"a tenant secret needs {KEYS_ENV} (or {KEYS_FILE_ENV}) to be stored sealed; "
                "or give it as ${ENV_VAR} or as a _file path",
                key=KEYS_ENV,
            )
        return SEALED + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        """A sealed value's plain text; any other value as it is."""
        if not value.startswith(SEALED):
            return value
        from cryptography.fernet import InvalidToken

        if self._fernet is None:
            raise ConfigError(f"tenant secrets are sealed: set {KEYS_ENV}", key=KEYS_ENV)
        try:
            return self._fernet.decrypt(value.removeprefix(SEALED).encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a tenant secret cannot be opened with the keys given", key=KEYS_ENV
            ) from None

    def reseal(self, value: str) -> str:
        """A sealed value sealed again under the newest key (rotation)."""
        if not value.startswith(SEALED) or self._fernet is None:
            return value
        from cryptography.fernet import InvalidToken

        try:
            return SEALED + self._fernet.rotate(value.removeprefix(SEALED).encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a secret cannot be opened with the keys given (was its key dropped?)",
                key=KEYS_ENV,
            ) from None


def secret_fields(settings: type[Any]) -> set[str]:
    """The fields of a settings model that hold secrets."""
    return {
        name
        for name, info in settings.model_fields.items()
        if info.annotation in (SecretStr, SecretStr | None)
    }


def seal_tenant(
    body: dict[str, Any], kinds: Mapping[str, type[Any]], box: SecretBox, *, reseal: bool = False
) -> dict[str, Any]:
    """A tenant definition as stored: each secret sealed unless it is a reference.

    ``kinds`` gives each connector's settings model (which fields are secrets).
    """
    sealed = dict(body)
    connectors = {}
    for name, changes in (body.get("connectors") or {}).items():
        secrets = secret_fields(kinds[name]) if name in kinds else set()
        table = dict(changes)
        for field, value in changes.items():
            if not isinstance(value, str):
                continue
            if value.startswith(SEALED):
                # Whichever field holds it (one of a connector the config has since dropped
                # too): after a rotation no value is left under an old key.
                table[field] = box.reseal(value) if reseal else value
            elif field in secrets and "${" not in value:
                table[field] = box.seal(value)
        connectors[name] = table
    sealed["connectors"] = connectors
    return sealed
