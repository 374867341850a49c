"""What no single table of the config shows: references between tables, what each
connector's plugin says it can do, and the shape of the flows together."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from hub.config.messages import validation_error
from hub.config.settings import FlowSettings, HubConfig, StateSettings
from hub.connector import Capabilities
from hub.errors import ConfigError
from hub.models import ENTITIES

__all__ = ["cross_check"]


def cross_check(
    config: HubConfig, capabilities: Mapping[str, Capabilities | None] | None = None
) -> None:
    """Check what no single table shows; ``capabilities`` by connector type, None to skip
    what the plugins declare."""
    for name in config.connectors:
        if "/" in name:
            raise ConfigError(_SLASH.format("connector"), key=f"connectors.{name}")
    seen: set[str] = set()
    for i, flow in enumerate(config.flows):
        if "/" in flow.name:
            raise ConfigError(_SLASH.format("flow"), key=f"flows[{i}].name")
        for end in ("source", "target"):
            if getattr(flow, end) not in config.connectors:
                raise ConfigError(
                    f"no connector named {getattr(flow, end)!r}", key=f"flows[{i}].{end}"
                )
        if flow.name in seen:
            raise ConfigError(f"duplicate flow name {flow.name!r}", key=f"flows[{i}].name")
        seen.add(flow.name)
        if flow.source == flow.target:
            message = f"the same connector as the source ({flow.source!r}): a flow moves records"
            raise ConfigError(message + " between two connectors", key=f"flows[{i}].target")
        _check_options(flow, f"flows[{i}].options")
        if capabilities is not None:
            _check_capabilities(config, flow, f"flows[{i}]", capabilities)
    _check_cycles(config.flows)
    if not config.connectors:
        raise ConfigError(
            "no connector is configured: a config needs at least one [connectors.NAME] table",
            key="connectors",
        )
    _check_state(config.state)


#: a tenant's state is kept under "TENANT/NAME": a config's own name with a slash would clash
_SLASH = "a {}'s name cannot hold '/': it separates a tenant's name from it in the state store"

#: canonical fields no option may set: the record's identity
_IDENTITY = frozenset({"entity", "key"})


def _check_options(flow: FlowSettings, key: str) -> None:
    """Options whose meaning depends on the flow's entity: field names, and who uses what."""
    model = ENTITIES[flow.entity]
    fields = {k: v for k, v in model.model_fields.items() if k not in _IDENTITY}
    options = flow.options
    for name, value in options.defaults.items():
        if name not in fields:
            raise ConfigError(
                f"a {flow.entity} has no field {name!r} to fill", key=f"{key}.defaults.{name}"
            )
        info = fields[name]
        try:
            field_type: Any = (
                Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
            )
            TypeAdapter(field_type).validate_python(value)
        except ValidationError as exc:
            raise validation_error(exc, f"{key}.defaults.{name}") from None
    if options.details_rename and "details" not in fields:
        message = f"a {flow.entity} has no details to rename (a home has)"
        raise ConfigError(message, key=f"{key}.details_rename")
    if options.region_by_state and flow.entity != "location":
        message = f"only locations are filed under regions; this flow moves {flow.entity} records"
        raise ConfigError(message, key=f"{key}.region_by_state")


def _check_capabilities(
    config: HubConfig,
    flow: FlowSettings,
    key: str,
    capabilities: Mapping[str, Capabilities | None],
) -> None:
    """What the flow asks of its connectors against what their plugins declare (a plugin
    that declares nothing is taken at its word at run time)."""
    source = capabilities.get(config.connectors[flow.source].type)
    target = capabilities.get(config.connectors[flow.target].type)
    if source is not None and flow.entity not in source.reads:
        raise ConfigError(
            f"connector {flow.source!r} cannot read {flow.entity!r} records "
            f"(it reads {_listed(source.reads)})",
            key=f"{key}.entity",
        )
    if target is None:
        return
    if flow.entity not in target.writes:
        raise ConfigError(
            f"connector {flow.target!r} cannot write {flow.entity!r} records "
            f"(it writes {_listed(target.writes)})",
            key=f"{key}.entity",
        )
    if flow.options.locations and "location" not in target.writes:
        message = f"connector {flow.target!r} cannot write the locations listed here"
        raise ConfigError(message, key=f"{key}.options.locations")
    _check_match_on(flow, target, key)
    if flow.on_delete != "ignore":
        # The contract declares deletes; deactivation only where a plugin declares it too.
        able: frozenset[str] = (
            target.deletes
            if flow.on_delete == "delete"
            else getattr(target, "deactivates", frozenset())
        )
        if flow.entity not in able:
            raise ConfigError(
                f"connector {flow.target!r} cannot {flow.on_delete} {flow.entity!r} records "
                f'(it can {flow.on_delete} {_listed(able)}); use on_delete = "ignore"',
                key=f"{key}.on_delete",
            )


def _check_match_on(flow: FlowSettings, target: Capabilities, key: str) -> None:
    """``match_on`` names natural keys the target offers for the entity, or is "none"."""
    chosen = flow.options.match_on
    offered = getattr(target, "natural_keys", None)  # declared by plugins that can look up
    if not chosen or chosen == ["none"] or offered is None:
        return
    keys = tuple(offered.get(flow.entity, ()))
    for j, name in enumerate(chosen):
        if name not in keys:
            raise ConfigError(
                f"connector {flow.target!r} cannot match a {flow.entity} on {name!r} "
                f'(it matches on: {", ".join(keys) or "nothing"}; "none" turns matching off)',
                key=f"{key}.options.match_on[{j}]",
            )


def _listed(names: frozenset[str] | tuple[str, ...]) -> str:
    """Names sorted and joined, or "none"."""
    return ", ".join(sorted(names)) or "none"


def _check_cycles(flows: list[FlowSettings]) -> None:
    """Enabled flows of one entity must not lead records back to where they came from: each
    flow would write what the other just wrote, round and round."""
    edges: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (entity, source) -> (target, i)
    for i, flow in enumerate(flows):
        if not flow.enabled:
            continue
        path = _route(edges, flow.entity, flow.target, flow.source)
        if path is not None:
            names = ", ".join(repr(flows[j].name) for j in [*path, i])
            hops = [flows[j].source for j in path] + [flow.source, flow.target]
            raise ConfigError(
                f"flows {names} form a cycle: {flow.entity} records would go " + " -> ".join(hops),
                key=f"flows[{i}].target",
            )
        edges.setdefault((flow.entity, flow.source), []).append((flow.target, i))


def _route(
    edges: Mapping[tuple[str, str], list[tuple[str, int]]], entity: str, start: str, end: str
) -> list[int] | None:
    """The flows (by index) that carry ``entity`` records from ``start`` to ``end``, if any."""
    came: dict[str, list[int]] = {start: []}
    todo = [start]
    while todo:
        here = todo.pop()
        if here == end:
            return came[here]
        for there, i in edges.get((entity, here), []):
            if there not in came:
                came[there] = [*came[here], i]
                todo.append(there)
    return None


def _check_state(state: StateSettings) -> None:
    """A SQLite state store's directory exists."""
    path = state.sqlite_path()
    if path is None:
        return
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a directory" if folder.exists() else "does not exist"
        raise ConfigError(f"the directory of the SQLite file {problem}", key="state.url")
