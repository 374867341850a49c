"""A record's content hash, for change detection: one serialisation, one SHA-256."""

from __future__ import annotations

import hashlib

from hub.models.base import CanonicalRecord

__all__ = ["digest_of", "record_hash", "serialised"]


def record_hash(record: CanonicalRecord) -> str:
    """A stable SHA-256 of a record's content, for change detection."""
    return digest_of(record.model_dump_json())


def serialised(record: CanonicalRecord) -> tuple[str, str]:
    """A record's canonical JSON and its hash, from one serialisation (as ``record_hash``)."""
    raw = record.__pydantic_serializer__.to_json(record)  # model_dump_json, minus its wrapper
    return raw.decode(), hashlib.sha256(raw).hexdigest()


def digest_of(canonical_json: str) -> str:
    """The hash of a record already serialised by ``model_dump_json`` (fields in model order)."""
    return hashlib.sha256(canonical_json.encode()).hexdigest()
