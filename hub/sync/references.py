"""References between canonical records, found and translated: a record's reference fields
(``models.REFERENCES``, wherever they sit in it) hold canonical keys; at a target they must
hold that target's refs."""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

import structlog
from pydantic import BaseModel

from hub.models import (
    REFERENCES,
)

log = structlog.get_logger("hub.sync")


__all__ = ["reference_plan", "references", "substitute"]


@cache
def reference_plan(model: type[BaseModel]) -> tuple[tuple[str, str | None], ...]:
    """The fields of ``model`` that hold references: (name, entity), or (name, None) for a
    nested model (or list of models) that holds some itself."""
    plan: list[tuple[str, str | None]] = []
    for name, info in model.model_fields.items():
        if name in REFERENCES:
            plan.append((name, REFERENCES[name]))
        elif any(reference_plan(inner) for inner in _models_in(info.annotation)):
            plan.append((name, None))
    return tuple(plan)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def references(model: BaseModel, own: str, found: list[tuple[str, str]]) -> None:
    """Collect the (entity, key) references a record holds, its own key excepted."""
    for name, entity in reference_plan(type(model)):
        value = getattr(model, name)
        if entity is not None:
            if isinstance(value, str) and value and value != own:
                found.append((entity, value))
        elif isinstance(value, BaseModel):
            references(value, own, found)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    references(item, own, found)


def substitute(value: Any, refs: dict[tuple[str, str], str], own: str) -> Any:
    """A dumped record with each reference replaced by the target's ref."""
    if isinstance(value, list):
        return [substitute(v, refs, own) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, item in value.items():
        if name == "full_name":
            continue  # derived, never input
        entity = REFERENCES.get(name)
        if entity is not None and isinstance(item, str) and item and item != own:
            out[name] = refs.get((entity, item), item)
        else:
            out[name] = substitute(item, refs, own)
    return out
