"""The commands about canonical records: ``schema`` (an entity's JSON Schema) and ``read``
(a connector's records, as JSON lines)."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.shared import ConfigOption, fail, load, run_async

if TYPE_CHECKING:
    from hub.config import HubConfig


def schema(entity: Annotated[str, typer.Argument(help="location, home, person, ...")]) -> None:
    """Print the JSON Schema of a canonical entity."""
    from hub import models

    try:
        typer.echo(json.dumps(models.json_schema(entity), indent=2))
    except KeyError as exc:
        fail(str(exc.args[0]), 2)


def read(
    connector: Annotated[str, typer.Argument(help="A connector name from the config.")],
    entity: Annotated[str, typer.Argument(help="A canonical entity.")],
    config: ConfigOption = Path("prophub.toml"),
    since: Annotated[
        datetime | None, typer.Option(help="Only records updated at or after (ISO 8601).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after N records.")] = None,
    collection: Annotated[
        list[str] | None, typer.Option(help="Restrict to these vendor collections.")
    ] = None,
) -> None:
    """Print canonical records as JSON lines."""
    from hub import models

    cfg = load(config)
    if connector not in cfg.connectors:
        fail(f"{config}: connectors.{connector}: no such connector in the config", 2)
    if entity not in models.ENTITIES:
        fail(f"unknown entity {entity!r} (known: {', '.join(models.ENTITIES)})", 2)
    run_async(_read(cfg, connector, entity, since, limit, collection or None))


async def _read(
    cfg: HubConfig,
    name: str,
    entity: str,
    since: datetime | None,
    limit: int | None,
    collections: list[str] | None,
) -> None:
    """Print a connector's records of one entity as JSON lines; exit 1 if any was skipped."""
    from hub import registry
    from hub.connector import ReadEnd, ReadFailure

    settings = cfg.connectors[name]
    connector = registry.get(settings.type).connector(settings, name=name)
    count = skipped = 0
    async with connector:
        if entity not in connector.capabilities.reads:
            fail(f"{name} cannot read {entity!r} (reads: {sorted(connector.capabilities.reads)})")
        records = connector.read(entity, since, collections=collections)
        async with contextlib.aclosing(records):  # type: ignore[type-var]
            async for item in records:
                if isinstance(item, ReadEnd):
                    continue
                if isinstance(item, ReadFailure):
                    skipped += 1
                    typer.echo(f"prophub: skipped {item.source_id}: {item.reason}", err=True)
                    continue
                sys.stdout.write(item.record.model_dump_json() + "\n")
                count += 1
                if limit is not None and count >= limit:
                    break
    if skipped:
        # A read that printed only part of what it met is not a success for a pipeline.
        fail(f"skipped {skipped} malformed record(s) of {count + skipped} read", 1)
