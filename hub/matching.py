"""Matching a run's creates against the target's existing records in memory.

Before a create the engine looks for the record the target may already hold (by email, by
name...). One look-up per create doubles the requests of a first sync; a connector that can
list its records cheaply offers, instead, one paged read of every existing record's natural
key for the run (:class:`IndexesMatches`), and the engine matches from that
:class:`MatchIndex`. The exact-match rules are the look-up's: the connector computes the
same normalised value for a record as for a payload, one value with several records is
ambiguous. A create whose outcome is unknown is still settled by a fresh ``lookup``: an
index knows only what was there when it was read, and what this run created since.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from hub.models import CanonicalRecord

__all__ = ["IndexesMatches", "MatchIndex"]


class MatchIndex:
    """The refs of a target's existing records by one natural key's normalised value.

    ``value_of`` gives a canonical record's value of that key, normalised as ``add`` was
    given the vendor's (None: the record cannot be matched on it).
    """

    def __init__(self, by: str, value_of: Callable[[CanonicalRecord], str | None]) -> None:
        self.by = by
        self.value_of = value_of
        self.closed = False
        self._refs: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._refs)

    def add(self, value: str, ref: str) -> None:
        """Hold that the record ``ref`` has ``value`` (a ref is held once per value)."""
        refs = self._refs.setdefault(value, [])
        if ref not in refs:
            refs.append(ref)

    def find(self, record: CanonicalRecord) -> list[str]:
        """The refs of every held record whose value is the record's (none, one or several)."""
        value = self.value_of(record)
        return list(self._refs.get(value, ())) if value is not None else []

    def holds(self, value: str) -> bool:
        """Whether any held record has ``value``."""
        return value in self._refs

    def created(self, record: CanonicalRecord, ref: str) -> None:
        """Hold a record this run created, so a later record with its value matches it."""
        value = self.value_of(record)
        if value is not None:
            self.add(value, ref)

    def close(self) -> None:
        """The run is over: the index may be stale from now on, and is not to be trusted."""
        self.closed = True
        self._refs.clear()


@runtime_checkable
class IndexesMatches(Protocol):
    """What a connector may add: its existing records' natural keys in one paged read."""

    async def match_index(self, entity: str, by: str, *, max_requests: int) -> MatchIndex | None:
        """Every existing record of ``entity`` by natural key ``by``, read in at most
        ``max_requests`` requests; None where that would take more (look-ups are then
        cheaper). The connector may answer its own checks before a create from the index
        while it is open."""
