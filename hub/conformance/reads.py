"""The read checks: records stream page by page and validate; ``since`` is honoured; a
read survives 429s, 5xx, dropped connections and truncated bodies; bad payloads become
``ReadFailure``s."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hub.conformance.faults import FaultKind
from hub.conformance.harness import Harness, Read, Subject, describe, expect
from hub.errors import HubError
from hub.models import entity_of

__all__ = [
    "check_bad_payloads",
    "check_faults_mid_read",
    "check_incremental",
    "check_rate_limited_read",
    "check_read",
]


async def clean_read(harness: Harness, entity: str) -> Read:
    """A read with no fault, which every record of the other checks is compared with; an
    entity the sandbox seeds none of gets the subject's write case written first."""
    async with harness.connector() as connector:
        done = await harness.read(connector, entity)
        case = harness.subject.writes.get(entity)
        if not done.records and case is not None:
            await connector.write(entity, case.record, None)
            done = await harness.read(connector, entity)
    expect(
        bool(done.records),
        f"read({entity!r}) yielded no record from a seeded sandbox: the kit cannot check it "
        "(is the sandbox seeded with this entity, or is the kit's size too small?)",
    )
    return done


async def check_read(subject: Subject, entity: str) -> None:
    """Every record is the entity's canonical model and validates again from its JSON form;
    keys and source ids are non-empty, keys unique and stable; a clean read's ``ReadEnd``s
    are complete; a read of several pages yields before the last page is asked for."""
    async with Harness(subject) as harness:
        first = await clean_read(harness, entity)
        async with harness.connector() as connector:
            second = await harness.read(connector, entity)
    model = entity_of(entity)
    for item in first.records:
        record = item.record
        expect(
            isinstance(record, model),
            f"read({entity!r}) yielded a {type(record).__name__}, not a {model.__name__}",
        )
        try:
            again = model.model_validate(record.model_dump(mode="json"))
        except ValueError as exc:
            raise AssertionError(
                f"{entity} {record.key!r} does not validate against the canonical schema: {exc}"
            ) from None
        expect(again == record, f"{entity} {record.key!r} changes through its JSON form")
        expect(
            isinstance(item.source_id, str) and bool(item.source_id),
            f"{entity} {record.key!r} has no source id (a non-empty string)",
        )
        stamp = item.updated_at
        expect(
            stamp is None or stamp.tzinfo is not None,
            f"{entity} {record.key!r} has a naive updated_at: it must be aware (UTC)",
        )
    repeated = [k for k, n in Counter(first.keys).items() if n > 1]
    expect(not repeated, f"read({entity!r}) yielded keys more than once: {repeated[:5]}")
    expect(
        sorted(first.keys) == sorted(second.keys),
        f"read({entity!r}) twice gave different keys: keys must be stable",
    )
    for end in first.ends:
        expect(
            end.stated_total is None or end.complete,
            f"a clean read of {entity!r} ended incomplete ({end.why_incomplete()}): "
            "deletions would never follow it",
        )
    if len(first.records) > 2 * subject.page_size and first.served_at_first is not None:
        expect(
            first.served_at_first < first.served_at_end,
            f"read({entity!r}) yielded nothing until all {first.served_at_end} requests were "
            "answered: it must stream page by page",
        )


async def check_incremental(subject: Subject, entity: str) -> None:
    """A read ``since`` a moment yields what changed after it, not everything: one record of
    each sandbox collection is touched, and only records the full read holds may come."""
    async with Harness(subject) as harness:
        full = await clean_read(harness, entity)
        expect(
            len(full.records) >= 2,
            f"read({entity!r}) yielded {len(full.records)} record: the kit needs two to tell "
            "an incremental read from a full one (raise the size)",
        )
        since = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        for collection in harness.box.collections.values():
            first = next(iter(collection.ids()), None)
            record = collection.get(first) if first is not None else None
            if first is not None and record is not None:
                collection.put(first, record)  # changed now, content the same
        async with harness.connector() as connector:
            recent = await harness.read(connector, entity, since=since)
    expect(
        len(recent.records) < len(full.records),
        f"read({entity!r}, since={since.isoformat()}) yielded {len(recent.records)} of the "
        f"{len(full.records)} records although only one record per collection changed since: "
        "since is ignored",
    )
    expect(
        bool(recent.records),
        f"read({entity!r}, since={since.isoformat()}) yielded nothing although a record of "
        "each sandbox collection changed since",
    )
    unknown = set(recent.keys) - set(full.keys)
    expect(not unknown, f"read({entity!r}, since=...) yielded keys a full read has not: {unknown}")
    early = [i.record.key for i in recent.records if i.updated_at and i.updated_at < since]
    expect(not early, f"read({entity!r}, since=...) yielded records updated before it: {early}")


async def _faulty_read(harness: Harness, entity: str) -> Read:
    async with harness.connector() as connector:
        try:
            return await harness.read(connector, entity)
        except HubError as exc:
            raise AssertionError(
                f"read({entity!r}) failed after {', '.join(harness.script.injected)}: "
                f"{describe(exc)} (the client retries reads; the connector must let it)"
            ) from None


def _same_records(clean: Read, faulty: Read, entity: str, what: str) -> None:
    expect(
        sorted(faulty.keys) == sorted(clean.keys),
        f"read({entity!r}) through {what} yielded {len(faulty.keys)} records "
        f"({len(set(faulty.keys))} distinct) instead of the {len(clean.keys)} of a clean read",
    )
    expect(
        not faulty.failures,
        f"read({entity!r}) through {what} yielded read failures: {faulty.failures[:2]}",
    )


async def check_rate_limited_read(subject: Subject, entity: str, form: str) -> None:
    """A storm of 429s mid-read, ``Retry-After`` in ``form`` (``seconds`` or ``date``): the
    connector waits as asked (on the kit's clock) and the read completes unchanged."""
    kind: FaultKind = "throttle" if form == "seconds" else "throttle_date"
    async with Harness(subject) as harness:
        clean = await clean_read(harness, entity)
        for _ in range(3):
            harness.script.add(kind, skip=1 if not harness.script.pending() else 0, seconds=3)
        faulty = await _faulty_read(harness, entity)
        injected = len(harness.script.injected)
        delays = harness.time.delays
    expect(injected == 3, f"read({entity!r}) made too few requests for the kit's 429 storm")
    _same_records(clean, faulty, entity, f"three 429s (Retry-After as {form})")
    expect(
        any(1.5 <= d <= 3.0 for d in delays),
        f"after 429s with Retry-After: 3 ({form}) the connector waited {delays}: it must "
        "wait what Retry-After asks",
    )


async def check_faults_mid_read(subject: Subject, entity: str) -> None:
    """A 5xx, a dropped connection and a truncated body after the first page: the read is
    retried page by page and yields exactly what a clean read does."""
    async with Harness(subject) as harness:
        clean = await clean_read(harness, entity)
        harness.script.add("error", skip=1)
        harness.script.add("drop")
        harness.script.add("truncate")
        faulty = await _faulty_read(harness, entity)
        injected = list(harness.script.injected)
    expect(len(injected) == 3, f"read({entity!r}) made too few requests for the kit's faults")
    _same_records(clean, faulty, entity, "a 5xx, a dropped connection and a truncated body")


async def check_bad_payloads(subject: Subject, entity: str) -> None:
    """A record that is no object, and one whose every field is an object: each becomes a
    ``ReadFailure`` and the read goes on, never a crash."""
    for kind in ("garbage", "scramble"):
        async with Harness(subject) as harness:
            clean = await clean_read(harness, entity)
            harness.script.add("garbage" if kind == "garbage" else "scramble")
            async with harness.connector() as connector:
                try:
                    done = await harness.read(connector, entity)
                except Exception as exc:  # any crash is the finding: reported, not raised
                    raise AssertionError(
                        f"read({entity!r}) crashed on a malformed record ({kind}): "
                        f"{describe(exc)}; a bad payload must become a ReadFailure"
                    ) from None
        expect(
            bool(done.failures),
            f"read({entity!r}) yielded no ReadFailure for a malformed record ({kind})",
        )
        for failure in done.failures:
            expect(
                isinstance(failure.source_id, str) and bool(failure.reason),
                f"a ReadFailure of {entity!r} must carry a source id and a reason: {failure}",
            )
        unknown = set(done.keys) - set(clean.keys)
        expect(not unknown, f"read({entity!r}) made up records from a bad payload: {unknown}")
        expect(
            len(clean.records) <= 2 * subject.page_size
            or len(done.records) >= len(clean.records) // 2,
            f"read({entity!r}) stopped at a malformed record ({kind}): "
            f"{len(done.records)} of {len(clean.records)} records came",
        )
