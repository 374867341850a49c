"""Where a hub's tenants are kept: the state store (added through the API or the CLI, shared
by every replica) and, for those kept in git, a directory of TOML files."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from hub.config import HubConfig
from hub.config.messages import validation_error
from hub.errors import ConfigError
from hub.state import StateStore
from hub.tenants.model import DEFAULT, Tenant, TenantView, flows_of, view
from hub.tenants.sealing import KEYS_ENV, KEYS_FILE_ENV, SecretBox, seal_tenant

__all__ = ["TenantDirectory"]

log = structlog.get_logger("hub.tenants")


class TenantDirectory:
    """The tenants of one config: listed afresh on each call, so tenants added, changed or
    removed (by another process, or in the directory) apply without a restart."""

    def __init__(self, config: HubConfig, store: StateStore, box: SecretBox | None = None) -> None:
        self.config = config
        self.store = store
        self._box = box

    @property
    def box(self) -> SecretBox:
        """The operator's keys, read from the environment when first needed: what needs no
        secret (``status``, listing) then works without them."""
        if self._box is None:
            self._box = SecretBox.from_env()
        return self._box

    def _kinds(self) -> dict[str, type[Any]]:
        return {name: type(settings) for name, settings in self.config.connectors.items()}

    async def all(self) -> dict[str, Tenant]:
        """Every tenant, stored or in the directory (a name in both is an error); a stored
        one that cannot be read is logged and left out, the others run."""
        found, broken = await self._read()
        for name, error in broken.items():
            log.error("tenant cannot be read, skipped", tenant=name, error=str(error))
        return found

    async def _one(self, name: str) -> Tenant:
        found, broken = await self._read()
        if name in broken:
            raise broken[name]
        if name not in found:
            raise ConfigError(f"no tenant named {name!r}", key="tenants")
        return found[name]

    async def _read(self) -> tuple[dict[str, Tenant], dict[str, ConfigError]]:
        found: dict[str, Tenant] = {}
        broken: dict[str, ConfigError] = {}
        for name, body in (await self.store.tenant_bodies()).items():
            try:
                found[name] = _parse(body, f"tenant {name!r} in the state store")
            except ConfigError as exc:
                # Stored by an older version under a name now reserved, say: one tenant's
                # definition must not stop every other tenant's runs.
                broken[name] = exc
        for name, tenant in self._files().items():
            if name in found:
                raise ConfigError(
                    f"tenant {name!r} is both in the state store and in the directory",
                    key="tenants.dir",
                )
            found[name] = tenant
        return found, broken

    def _files(self) -> dict[str, Tenant]:
        folder = self.config.tenants.dir
        if folder is None:
            return {}
        path = Path(folder)
        if not path.is_dir():
            raise ConfigError(f"{folder} is not a directory", key="tenants.dir")
        tenants = {}
        for file in sorted(path.glob("*.toml")):
            try:
                data = tomllib.loads(file.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{file}: {exc}", key="tenants.dir") from None
            tenant = _parse({"name": file.stem, **data}, str(file))
            tenants[tenant.name] = tenant
        return tenants

    async def names(self) -> list[str]:
        """The tenants that run: the default one (unless the config says not), then every
        enabled tenant by name."""
        return list(await self.flows())

    async def flows(self) -> dict[str, frozenset[str] | None]:
        """The tenants that run, as :meth:`names` gives them, each with the flows it runs
        (None: every enabled flow of the config)."""
        tenants = await self.all()
        running: dict[str, frozenset[str] | None] = (
            {DEFAULT: None} if self.config.tenants.default else {}
        )
        for name, tenant in sorted(tenants.items()):
            if tenant.enabled:
                running[name] = frozenset(tenant.flows) if tenant.flows is not None else None
        return running

    async def flow_names(self, name: str) -> list[str]:
        """The names of the flows tenant ``name`` runs (``DEFAULT``: every flow of the
        config), found without opening any of its secrets."""
        if name == DEFAULT:
            return [flow.name for flow in flows_of(self.config)]
        return [flow.name for flow in flows_of(self.config, await self._one(name))]

    async def view(self, name: str) -> TenantView:
        """The config as tenant ``name`` runs it (``DEFAULT``: the config itself)."""
        if name == DEFAULT:
            return view(self.config)
        return view(self.config, await self._one(name), open_secret=self.box.open)

    async def add(self, definition: dict[str, Any]) -> Tenant:
        """Store a tenant (replacing one of its name), its secrets sealed; it is checked
        against the config first, so a tenant that cannot run is refused."""
        tenant = _parse(definition, "the tenant")
        if tenant.name in self._files():
            raise ConfigError(f"tenant {tenant.name!r} is defined by a file", key="tenants.dir")
        view(self.config, tenant)  # refused here, not at its first run
        body = seal_tenant(tenant.model_dump(), self._kinds(), self.box)
        await self.store.put_tenant(tenant.name, body)
        return tenant

    async def remove(self, name: str) -> bool:
        """Forget a stored tenant; whether there was one."""
        return await self.store.remove_tenant(name)

    async def rotate(self) -> int:
        """Seal every stored tenant's secrets again under the newest key; how many.

        All or nothing: a secret no key opens stops the rotation before any tenant is
        written, so what is stored stays readable with the keys that read it before.
        """
        if not self.box.has_keys:
            raise ConfigError(
                f"not set, nor {KEYS_FILE_ENV}: there is no key to seal under", key=KEYS_ENV
            )
        resealed = {}
        for name, body in (await self.store.tenant_bodies()).items():
            try:
                resealed[name] = seal_tenant(body, self._kinds(), self.box, reseal=True)
            except ConfigError:
                raise ConfigError(
                    f"tenant {name!r} has a secret that none of the keys opens (was its key "
                    "dropped before the rotation?); no tenant was changed",
                    key=KEYS_ENV,
                ) from None
        for name, body in resealed.items():
            await self.store.put_tenant(name, body)
        return len(resealed)


def _parse(body: dict[str, Any], where: str) -> Tenant:
    try:
        return Tenant.model_validate(body)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {validation_error(exc, 'tenant')}") from None
