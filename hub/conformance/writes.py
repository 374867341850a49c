"""The write checks: create then update; no duplicate after a create that was retried, timed
out or crashed; a repeated create resolves to the existing record; a missing parent is
``MissingParent``; a delete removes."""

from __future__ import annotations

from hub.conformance.faults import FaultKind
from hub.conformance.harness import Harness, Subject, WriteCase, describe, expect
from hub.connector import Connector, WriteAction, WriteResult
from hub.errors import MissingParent, UnsupportedValue, VendorError

__all__ = [
    "check_crashed_create",
    "check_delete",
    "check_lost_create",
    "check_missing_parent",
    "check_write",
]


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    changed = {k: after.get(k, 0) - before.get(k, 0) for k in {*before, *after}}
    return {k: n for k, n in changed.items() if n}


async def _lookup(connector: Connector, case: WriteCase) -> str | None:
    """The engine's look-up before a create; a vendor that cannot look up answers None."""
    try:
        return await connector.lookup(case.entity, case.record)
    except UnsupportedValue:
        return None


async def _settle(connector: Connector, case: WriteCase, what: str) -> None:
    """What the engine does after a create whose outcome is unknown: look, then write."""
    try:
        found = await _lookup(connector, case)
        await connector.write(case.entity, case.record, found)
    except VendorError as exc:
        raise AssertionError(
            f"settling a create {what} as the engine does (look up, then write what was "
            f"found) raised {describe(exc)}: a repeated create must resolve to the existing "
            "record"
        ) from None


async def check_write(subject: Subject, case: WriteCase) -> None:
    """A create (through one 429) makes one record; writing it again changes nothing; the
    changed record updates it in place; its natural key finds it."""
    entity = case.entity
    async with Harness(subject) as harness:
        harness.script.add("throttle", writes=True, seconds=2)
        async with harness.connector() as connector:
            made = await connector.write(entity, case.record, None)
            made_counts = harness.counts()
            same = await connector.write(entity, case.record, made.ref)
            changed = await connector.write(entity, case.changed, made.ref)
            found = (
                await _lookup(connector, case)
                if subject.capabilities.natural_keys.get(entity)
                else made.ref
            )
        after = harness.counts()
        delays = list(harness.time.delays)
    expect(
        made.action is WriteAction.CREATED and isinstance(made.ref, str) and bool(made.ref),
        f"write({entity!r}, record, None) must create and return the vendor's id: got {made}",
    )
    expect(
        2.0 in delays,
        f"a create answered 429 with Retry-After: 2 was not retried after 2 s (waits: {delays})",
    )
    expect(
        same.ref == made.ref and same.action is not WriteAction.CREATED,
        f"writing the same {entity} again with its ref created or moved it: {same}",
    )
    expect(
        changed.ref == made.ref and changed.action is WriteAction.UPDATED,
        f"writing a changed {entity} with its ref must update it in place: got {changed}",
    )
    expect(
        after == made_counts,
        f"updates of a {entity} added records at the vendor: {_delta(made_counts, after)}",
    )
    expect(
        found == made.ref,
        f"lookup({entity!r}) by its natural key found {found!r}, not the record written "
        f"({made.ref!r})",
    )


async def _baseline(subject: Subject, case: WriteCase) -> dict[str, int]:
    """What one clean create adds to a fresh sandbox, collection by collection."""
    async with Harness(subject) as harness:
        before = harness.counts()
        async with harness.connector() as connector:
            await connector.write(case.entity, case.record, None)
        return _delta(before, harness.counts())


async def check_lost_create(subject: Subject, case: WriteCase, kind: FaultKind) -> None:
    """A create the vendor applied whose answer was lost (``lose_answer``) or came too late
    (``stall``) raises a ``VendorError`` with ``outcome_unknown``; the engine's settling (look
    the record up, then write it with what was found) makes no second record."""
    entity = case.entity
    expected = await _baseline(subject, case)
    timeout = {"timeout": 0.3} if kind == "stall" else {}
    what = "whose answer was lost" if kind == "lose_answer" else "that timed out"
    async with Harness(subject) as harness:
        before = harness.counts()
        harness.script.add(kind, writes=True)
        async with harness.connector(**timeout) as connector:
            try:
                first: WriteResult | None = await connector.write(entity, case.record, None)
            except VendorError as exc:
                expect(
                    exc.outcome_unknown,
                    f"a create {what} raised {describe(exc)} without outcome_unknown: the "
                    "engine would give up on a record the vendor may hold, or send it again",
                )
                first = None
            except Exception as exc:
                raise AssertionError(
                    f"a create {what} raised {describe(exc)}: it must be a VendorError "
                    "with outcome_unknown"
                ) from None
            harness.script.release.set()
            if first is None:
                await _settle(connector, case, what)
        added = _delta(before, harness.counts())
    expect(
        added == expected,
        f"a create {what}, then settled as the engine does (look up, write), changed the "
        f"vendor's records by {added}; one create changes them by {expected}: a duplicate",
    )


async def check_crashed_create(subject: Subject, case: WriteCase) -> None:
    """The hub crashed after a create reached the vendor: a new connector finds the record
    by its natural key (the engine looks up first), or, declaring none, resolves the repeated
    create (a 409) to the existing record; either way no second record."""
    entity = case.entity
    keyed = bool(subject.capabilities.natural_keys.get(entity))
    async with Harness(subject) as harness:
        async with harness.connector() as before_crash:
            made = await before_crash.write(entity, case.record, None)
        counts = harness.counts()
        async with harness.connector() as restarted:
            found = await _lookup(restarted, case) if keyed else None
            try:
                again = await restarted.write(entity, case.record, found)
            except VendorError as exc:
                raise AssertionError(
                    f"creating a {entity} the vendor already holds raised {describe(exc)}: "
                    "a repeated create (409) must resolve to the existing record"
                ) from None
        after = harness.counts()
    if keyed:
        expect(
            found == made.ref,
            f"after a crash, lookup({entity!r}) by its natural key found {found!r}, not the "
            f"record created before it ({made.ref!r})",
        )
    expect(
        again.ref == made.ref,
        f"a repeated create of a {entity} answered {again.ref!r}, not the existing {made.ref!r}",
    )
    expect(
        after == counts,
        f"a repeated create of a {entity} added records at the vendor: {_delta(counts, after)}",
    )


async def check_missing_parent(subject: Subject, case: WriteCase) -> None:
    """Writing a record whose parent the vendor does not hold raises ``MissingParent``, so
    the engine writes the parent first."""
    if case.orphan is None:
        raise AssertionError(f"the {case.entity} write case has no orphan record")
    async with Harness(subject) as harness, harness.connector() as connector:
        try:
            result = await connector.write(case.entity, case.orphan, None)
        except MissingParent:
            return
        except Exception as exc:
            raise AssertionError(
                f"writing a {case.entity} whose parent is missing raised {describe(exc)}: it "
                "must raise MissingParent (the engine then writes the parent first)"
            ) from None
    raise AssertionError(
        f"writing a {case.entity} whose parent is missing succeeded ({result}): it must "
        "raise MissingParent"
    )


async def check_delete(subject: Subject, case: WriteCase) -> None:
    """A record created then deleted is gone from the vendor's records."""
    async with Harness(subject) as harness, harness.connector() as connector:
        made = await connector.write(case.entity, case.record, None)
        held = harness.counts()
        await connector.delete(case.entity, made.ref)
        after = harness.counts()
    removed = _delta(held, after)
    expect(
        bool(removed) and all(n < 0 for n in removed.values()),
        f"delete({case.entity!r}, {made.ref!r}) changed the vendor's records by {removed}: "
        "the record must be gone",
    )
