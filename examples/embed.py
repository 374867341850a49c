"""Embed the hub in your own asyncio service: run one flow against the built-in sandboxes.

Run it with ``python examples/embed.py``; in your service, build the config from your TOML file
with ``Hub.from_config("prophub.toml")`` instead.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from connectors.demo import demo_config, first_region, running_sandboxes
from hub import Hub


async def main() -> None:
    """Start the sandboxes, then sync associations and their units into Builder Backed."""
    with tempfile.TemporaryDirectory() as tmp:
        async with running_sandboxes(sizes={"hoa": 20}) as boxes:
            region = await first_region(boxes)
            config = demo_config(boxes, f"sqlite:///{Path(tmp) / 'state.db'}", region)
            async with Hub.from_config(config) as hub:
                for flow in ("hoa-associations-to-warranty", "hoa-units-to-warranty"):
                    report = await hub.sync(flow)
                    print(json.dumps(report.as_json()))


if __name__ == "__main__":
    asyncio.run(main())
