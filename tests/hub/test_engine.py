"""Engine semantics with in-memory connectors: every promise the sync engine makes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from hub.config import FlowSettings
from hub.connector import ReadEnd, ReadFailure, SourceRecord, WriteAction, WriteResult
from hub.errors import AuthFailed, HubError, MissingParent, TokenUnavailable, Unavailable
from hub.models import Address, CanonicalRecord, Home, Location, LocationKind, Person
from hub.state import StateStore
from hub.sync import reading, run_flow
from hub.testing import FakeConnector

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class Crash(BaseException):
    """Stands for the process dying mid-write."""


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    async with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


async def open_creates(store: StateStore, entity: str, keys: list[str]) -> set[str]:
    """Keys with a create at ``t`` sent with no known outcome (what a dry batch finds)."""
    return (await store.prepare_batch(None, "t", entity, keys, {})).pending


async def known_at_target(store: StateStore, keys: list[str]) -> set[str]:
    """The home keys the store has a cross-reference for at ``t``."""
    return set((await store.prepare_batch(None, "t", "home", keys, {})).known)


def home(i: int, hood: str | None = "hood-1", **kw: Any) -> Home:
    address = Address(line1=f"{i} Oak St", city="Austin", state="TX", postal_code="78701")
    return Home(key=f"home-{i}", address=address, neighborhood_key=hood, **kw)


def hood(key: str = "hood-1", parent: str | None = "mc-1") -> Location:
    return Location(key=key, kind=LocationKind.NEIGHBORHOOD, name=key, parent_key=parent)


def flow(entity: str = "home", **kw: Any) -> FlowSettings:
    return FlowSettings(name=f"s-to-t-{entity}", source="s", target="t", entity=entity, **kw)


def pair() -> tuple[FakeConnector, FakeConnector]:
    return FakeConnector(name="s"), FakeConnector(name="t")


@contextlib.contextmanager
def crash_after(target: FakeConnector, key: str) -> Iterator[None]:
    """The process dies (``Crash``) right after the target stored ``key``, before the hub
    could record it; the target writes normally again afterwards."""
    original = target.write

    async def crashing(entity: str, record: Any, known_ref: str | None) -> Any:
        result = await original(entity, record, known_ref)
        if record.key == key:
            raise Crash
        return result

    target.write = crashing  # type: ignore[method-assign]
    try:
        yield
    finally:
        target.write = original  # type: ignore[method-assign]


async def test_second_pass_writes_nothing(store: StateStore) -> None:
    """Unchanged records cost no write on the next run."""
    source, target = pair()
    for i in range(5):
        source.put("home", home(i), updated_at=T0)
    first = await run_flow(flow(), source, target, store)
    second = await run_flow(flow(), source, target, store, full=True)
    assert (first.created, first.read) == (5, 5)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 5)
    assert target.creates == 5 and target.updates == 0


async def test_changed_record_is_updated(store: StateStore) -> None:
    """A changed source record is written as an update, and only it."""
    source, target = pair()
    for i in range(3):
        source.put("home", home(i), updated_at=T0)
    await run_flow(flow(), source, target, store)
    source.put("home", home(1, model="Preston"), ref="2", updated_at=T0 + timedelta(hours=1))
    report = await run_flow(flow(), source, target, store)
    # records stamped at the cursor are re-read (>=) but cost no write
    assert (report.read, report.updated, report.created, report.unchanged) == (3, 1, 0, 2)
    assert target.data["home"]["home-1"].record.model == "Preston"


async def test_incremental_reads_since_cursor(store: StateStore) -> None:
    """An incremental run reads only what changed since the cursor."""
    source, target = pair()
    source.put("home", home(1), updated_at=T0)
    await run_flow(flow(), source, target, store)
    assert await store.get_cursor("s-to-t-home") == T0
    source.put("home", home(2), updated_at=T0 + timedelta(minutes=5))
    report = await run_flow(flow(), source, target, store)
    assert report.read == 2  # the record at the cursor itself and the new one
    assert report.created == 1


class EditedMidRead(FakeConnector):
    """A source where, once home-0 was read, it is edited, and after that home-1 (read
    later): both edits newer than the read's start, home-0's older than home-1's."""

    async def read(
        self, entity: str, since: datetime | None = None, *, collections: Any = None
    ) -> AsyncIterator[SourceRecord | ReadEnd]:
        held = self.data.get(entity, {})
        count = 0
        for key in list(held):  # each record as it is when its page is read
            stored = held[key]
            if since is not None and stored.updated_at < since:
                continue
            count += 1
            yield SourceRecord(stored.record, stored.ref, stored.updated_at)
            if key == "home-0" and since is None:
                now = datetime.now(UTC)
                self.put("home", home(0, model="Edited"), ref=stored.ref, updated_at=now)
                later = now + timedelta(seconds=1)
                self.put("home", home(1, model="Later"), ref=held["home-1"].ref, updated_at=later)
        yield ReadEnd(entity, count, count)


async def test_an_edit_made_during_the_read_is_read_by_the_next_run(store: StateStore) -> None:
    """The cursor never passes the read's start: home-0's edit, made after its page was read
    and before home-1's, is not left behind it."""
    source, target = EditedMidRead(name="s"), FakeConnector(name="t")
    source.put("home", home(0), updated_at=T0)
    source.put("home", home(1), updated_at=T0)
    await run_flow(flow(), source, target, store)
    assert target.data["home"]["home-1"].record.model == "Later"
    await run_flow(flow(), source, target, store)
    assert target.data["home"]["home-0"].record.model == "Edited"


class StoresThenFails(FakeConnector):
    """A vendor with no 409 (each create is a new record): home-1's first creates answer
    503 unstored, the last one is stored and still answers 503."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.copies: list[str] = []
        self.fails = 3

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        if known_ref is not None:
            return await super().write(entity, record, known_ref)
        if record.key == "home-1" and self.fails > 0:
            self.fails -= 1
            raise Unavailable("down", vendor="fake", status=503, outcome_unknown=True)
        self.copies.append(record.key)
        stored = self.put(entity, record)
        if record.key == "home-1" and self.fails == 0:
            self.fails = -1
            raise Unavailable("down", vendor="fake", status=503, outcome_unknown=True)
        return WriteResult(stored.ref, WriteAction.CREATED)


async def test_a_parked_create_whose_outcome_is_unknown_is_looked_up_not_sent_again(
    store: StateStore,
) -> None:
    """A create that may have landed (503 after the vendor stored it) is parked; the next
    run's retry of the parked record finds it at the target instead of creating a copy,
    even with natural-key matching off."""
    source, target = FakeConnector(name="s"), StoresThenFails(name="t")
    source.put("home", home(1, hood=None))
    settings = flow(mode="full", options={"match_on": "none"})
    first = await run_flow(settings, source, target, store)
    assert first.failed == 1 and await store.ledger_pending("t", "home", "home-1")
    await run_flow(settings, source, target, store)
    assert target.copies == ["home-1"]
    assert await store.get_xref("t", "home", "home-1") is not None


class Repeating(FakeConnector):
    """A source whose read yields home-1 twice in a row, its second copy the newer."""

    async def read(
        self, entity: str, since: datetime | None = None, *, collections: Any = None
    ) -> AsyncIterator[SourceRecord | ReadEnd]:
        for stored in list(self.data.get(entity, {}).values()):
            yield SourceRecord(stored.record, stored.ref, stored.updated_at)
            if stored.record.key == "home-1":
                newer = stored.record.model_copy(update={"model": "Newer"})
                yield SourceRecord(newer, stored.ref, stored.updated_at)


class SlowCreates(StoresThenFails):
    """Creates take a moment (so copies of one key would be in flight together)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.fails = -1

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        await asyncio.sleep(0.01)
        return await super().write(entity, record, known_ref)


async def test_a_key_read_twice_in_one_batch_is_created_once(store: StateStore) -> None:
    """The later copy is the one written, once."""
    source, target = Repeating(name="s"), SlowCreates(name="t")
    for i in range(4):
        source.put("home", home(i, hood=None))
    await run_flow(flow(mode="full", options={"match_on": "none"}), source, target, store)
    assert sorted(target.copies) == ["home-0", "home-1", "home-2", "home-3"]
    assert target.data["home"]["home-1"].record.model == "Newer"


class OneUnreadable(FakeConnector):
    """A source whose first record cannot be read (its raw payload is dead-lettered)."""

    async def read(
        self, entity: str, since: datetime | None = None, *, collections: Any = None
    ) -> AsyncIterator[SourceRecord | ReadFailure | ReadEnd]:
        yield ReadFailure("7", "malformed payload: bad zip", raw={"Id": 7, "Zip": "x"})
        async for item in super().read(entity, since, collections=collections):
            yield item


async def test_a_retry_leaves_read_failures_for_a_read_and_goes_on_with_the_rest(
    store: StateStore,
) -> None:
    """`dlq retry`: a letter holding what the vendor sent (not a record) is left for a read
    to bring back; the records parked beside it are retried."""
    from hub.sync.run import FlowRun

    source, target = OneUnreadable(name="s"), FakeConnector(name="t")
    source.put("home", home(1, hood=None))
    target.fail_keys["home-1"] = "refused"
    settings = flow(mode="full")
    await run_flow(settings, source, target, store)
    letters = await store.dead_letters(settings.name)
    assert sorted(letter["error_type"] for letter in letters) == ["InvalidRecord", "ReadFailure"]
    del target.fail_keys["home-1"]
    totals = await FlowRun(settings, source, target, store, dry_run=False).retry_letters(letters)
    assert totals == {"retried": 1, "written": 1, "failed": 0}
    assert [letter["error_type"] for letter in await store.dead_letters(settings.name)] == [
        "ReadFailure"
    ]


class NoSuchParentThere(FakeConnector):
    """A target that needs a parent of the record the hub cannot write there."""

    attempts = 0

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        self.attempts += 1
        raise MissingParent("needs a rental property", vendor="fake", repairable=False)


async def test_a_parent_the_hub_cannot_write_is_parked_without_repair_attempts(
    store: StateStore,
) -> None:
    """No rewrite of parents and no repeated attempts: one attempt, one dead letter."""
    source, target = FakeConnector(name="s"), NoSuchParentThere(name="t")
    source.put("home", home(1, hood=None))
    report = await run_flow(flow(), source, target, store)
    assert report.failed == 1 and target.attempts == 1
    [letter] = await store.dead_letters(flow().name)
    assert letter["error_type"] == "MissingParent" and letter["category"] == "parked"


async def test_rejected_record_is_dead_lettered_and_others_written(store: StateStore) -> None:
    """A record the target rejects lands in the DLQ with the vendor's message; the rest land."""
    source, target = pair()
    for i in range(4):
        source.put("home", home(i))
    target.fail_keys["home-2"] = "UnitNumber is required"
    report = await run_flow(flow(), source, target, store)
    assert (report.created, report.failed) == (3, 1)
    letters = await store.dead_letters("s-to-t-home")
    assert len(letters) == 1 and "UnitNumber is required" in letters[0]["reason"]
    assert letters[0]["body"]["key"] == "home-2"


async def test_dead_letter_clears_when_record_is_later_written(store: StateStore) -> None:
    """Once the target accepts a record, its dead letter goes away."""
    source, target = pair()
    source.put("home", home(1))
    target.fail_keys["home-1"] = "nope"
    await run_flow(flow(), source, target, store)
    target.fail_keys.clear()
    await run_flow(flow(), source, target, store, full=True)
    assert await store.dead_letters() == []


async def test_unknown_outcome_is_looked_up_not_recreated(store: StateStore) -> None:
    """A create that timed out after taking effect is found by lookup, never duplicated."""
    source, target = pair()
    source.put("home", home(1))
    target.unknown_outcome_keys.add("home-1")
    report = await run_flow(flow(), source, target, store)
    assert target.creates == 1 and target.lookups == 1
    assert report.failed == 0 and len(target.records("home")) == 1
    assert (await store.get_xref("t", "home", "home-1")) is not None


async def test_crash_between_send_and_record_does_not_duplicate(store: StateStore) -> None:
    """A run cancelled after the vendor stored a record resolves it by lookup on the re-run."""
    source, target = pair()
    for i in range(3):
        source.put("home", home(i))
    with crash_after(target, "home-1"), pytest.raises(Crash):
        await run_flow(flow(concurrency=1), source, target, store)
    assert await store.get_cursor("s-to-t-home") is None  # cursor did not move
    report = await run_flow(flow(), source, target, store)
    assert len(target.records("home")) == 3 and target.creates == 3
    assert target.lookups == 1 and report.failed == 0
    assert (await store.last_run("s-to-t-home"))["status"] == "ok"


async def test_missing_parents_are_created_first(store: StateStore) -> None:
    """A home's neighborhood and its master community are written before the home."""
    source, target = pair()
    target.check_parents = True
    mc = {"key": "mc-1", "kind": "master_community", "name": "MC"}
    source.put("location", hood())
    await run_flow(flow("location", options={"locations": [mc]}), source, target, store)
    source.put("home", home(1))
    report = await run_flow(flow("home"), source, target, store)
    assert report.created == 1 and report.failed == 0
    written = target.data["home"]["home-1"].record
    assert written.neighborhood_key == target.data["location"]["hood-1"].ref


async def test_parent_written_on_demand_from_stored_records(store: StateStore) -> None:
    """A neighborhood read earlier but never written is written when a home needs it."""
    source, target = pair()
    other = FakeConnector(name="o")
    source.put("location", hood(parent=None))
    # the location flow goes elsewhere; the home flow must still create hood-1 at t
    await run_flow(
        FlowSettings(name="s-to-o", source="s", target="o", entity="location"), source, other, store
    )
    source.put("home", home(1))
    target.check_parents = True
    report = await run_flow(flow("home"), source, target, store)
    assert report.created == 1 and "hood-1" in target.data["location"]


async def test_locations_written_parents_first(store: StateStore) -> None:
    """Within a read, regions come before divisions before communities before neighborhoods."""
    source, target = pair()
    target.check_parents = True
    source.put("location", hood("n", parent="m"))
    source.put("location", Location(key="m", kind="master_community", name="M", parent_key="d"))
    source.put("location", Location(key="d", kind="division", name="D"))
    report = await run_flow(flow("location"), source, target, store)
    assert report.created == 3 and report.failed == 0


async def test_defaults_and_detail_renames_apply(store: StateStore) -> None:
    """Flow options fill empty fields and rename homeDetails keys."""
    source, target = pair()
    source.put("home", home(1, hood=None, details={"Lot": "7"}))  # type: ignore[arg-type]
    options = {"defaults": {"neighborhood_key": "hood-x"}, "details_rename": {"Lot": "LotNo"}}
    await run_flow(flow(options=options), source, target, store)
    written = target.data["home"]["home-1"].record
    assert written.neighborhood_key == "hood-x" and written.details == {"LotNo": "7"}


@pytest.mark.parametrize(
    ("keys", "sent"),
    [(None, {"LotNo": "7", "Price": "450000"}), (["Lot"], {"LotNo": "7"}), ([], {})],
)
async def test_only_the_flows_listed_details_leave_it(
    store: StateStore, keys: list[str] | None, sent: dict[str, str]
) -> None:
    """``details_keys`` is the flow's allowlist of home details (before renaming)."""
    source, target = pair()
    source.put("home", home(1, details={"Lot": "7", "Price": "450000"}))  # type: ignore[arg-type]
    options: dict[str, Any] = {"details_rename": {"Lot": "LotNo"}}
    if keys is not None:
        options["details_keys"] = keys
    await run_flow(flow(options=options), source, target, store)
    assert target.data["home"]["home-1"].record.details == sent  # type: ignore[attr-defined]


async def test_echo_is_suppressed_between_opposite_flows(store: StateStore) -> None:
    """Two opposite flows do not ping-pong the hub's own writes."""
    a, b = FakeConnector(name="a"), FakeConnector(name="b")
    a.put("person", Person(key="p1", first_name="Ada", emails=["ada@example.com"]))
    ab = FlowSettings(name="a-to-b", source="a", target="b", entity="person")
    ba = FlowSettings(name="b-to-a", source="b", target="a", entity="person")
    await run_flow(ab, a, b, store)
    back = await run_flow(ba, b, a, store)
    assert back.skipped == 1 and back.created == 0 and a.creates == 0
    again = await run_flow(ab, a, b, store, full=True)
    assert again.created == 0 and again.updated == 0


async def test_deletions_follow_on_delete(store: StateStore) -> None:
    """A full run notices vanished records; on_delete=delete removes them at the target."""
    source, target = pair()
    for i in range(10):
        source.put("home", home(i))
    settings = flow(mode="full", on_delete="delete")
    await run_flow(settings, source, target, store)
    del source.data["home"]["home-0"]
    report = await run_flow(settings, source, target, store)
    assert report.deleted == 1 and target.deletes == 1 and report.withheld == 0
    assert "home-0" not in target.data["home"]


class ByCollection(FakeConnector):
    """A source of two collections of homes: ``home-900`` and after are collection ``b``."""

    async def read(
        self, entity: str, since: datetime | None = None, *, collections: Any = None
    ) -> AsyncIterator[SourceRecord | ReadEnd]:
        count = 0
        for stored in list(self.data.get(entity, {}).values()):
            number = int(stored.record.key.rsplit("-", 1)[1])
            if collections and ("b" if number >= 900 else "a") not in collections:
                continue
            count += 1
            yield SourceRecord(stored.record, stored.ref, stored.updated_at)
        yield ReadEnd(entity, count, count)


async def test_a_flow_deletes_none_of_another_flows_records_of_the_same_source(
    store: StateStore,
) -> None:
    """Two flows read other collections of one source and entity: what one flow's read does
    not see is not gone, it is the other flow's."""
    source, target = ByCollection(name="s"), FakeConnector(name="t")
    for i in [*range(40), *range(900, 903)]:  # b's few: under a's mass-deletion guard
        source.put("home", home(i, hood=None))
    a = flow(mode="full", on_delete="delete", options={"collections": ["a"]})
    b = a.model_copy(update={"name": "s-to-t-b", "options": a.options.model_copy(
        update={"collections": ["b"]})})  # fmt: skip
    await run_flow(b, source, target, store)
    report = await run_flow(a, source, target, store)
    assert report.deleted == 0 and "home-900" in target.data["home"]
    del source.data["home"]["home-900"]  # gone at the source: its own flow deletes it
    assert (await run_flow(a, source, target, store)).deleted == 0
    assert (await run_flow(b, source, target, store, allow_mass_delete=True)).deleted == 1
    assert "home-900" not in target.data["home"]


async def test_a_record_already_gone_at_the_target_counts_as_deleted(store: StateStore) -> None:
    """A delete that meets 404 got what it wanted: deleted, its cross-reference dropped, no
    dead letter, and the next run does not try again."""
    source, target = pair()
    for i in range(10):
        source.put("home", home(i))
    settings = flow(mode="full", on_delete="delete")
    await run_flow(settings, source, target, store)
    del source.data["home"]["home-0"], target.data["home"]["home-0"]
    report = await run_flow(settings, source, target, store)
    assert (report.deleted, report.failed) == (1, 0)
    assert await store.dead_letters(settings.name) == []
    again = await run_flow(settings, source, target, store)
    assert again.deleted == 0


async def test_ignore_deletes_nothing_and_reports_nothing(store: StateStore) -> None:
    """The default policy keeps the target's record and reports no deletion."""
    source, target = pair()
    source.put("home", home(1))
    await run_flow(flow(mode="full"), source, target, store)
    del source.data["home"]["home-1"]
    report = await run_flow(flow(mode="full"), source, target, store)
    assert report.deleted == 0 and report.withheld == 0 and target.deletes == 0
    assert "home-1" in target.data["home"]


class _Unsound(FakeConnector):
    """A source whose read misbehaves in one of the ways a real vendor's can."""

    def __init__(self, how: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.how = how

    async def read(  # type: ignore[override]
        self, entity: str, since: datetime | None = None, *, collections: Any = None
    ) -> AsyncIterator[Any]:
        held = list(self.data.get(entity, {}).values())
        if self.how == "empty":  # restarted with nothing, and says so truthfully
            yield ReadEnd(entity, 0, 0)
            return
        shown = held[:2] if self.how in {"short", "negative", "absent", "no-end"} else held
        for stored in shown:
            if self.how == "malformed" and stored.record.key == "home-3":
                yield ReadFailure(stored.ref, "malformed payload: Address: field required")
                continue
            yield SourceRecord(stored.record, stored.ref, stored.updated_at)
        total = {"short": len(held), "negative": None, "absent": None}.get(self.how, len(held))
        if self.how != "no-end":
            yield ReadEnd(entity, total, len(shown))


@pytest.mark.parametrize("how", ["short", "negative", "absent", "malformed", "empty", "no-end"])
async def test_no_deletion_after_a_read_that_is_not_provably_complete(
    store: StateStore, how: str
) -> None:
    """Short, uncounted, failed or suspiciously empty reads delete nothing and say why."""
    source, target = _Unsound("sound", name="s"), FakeConnector(name="t")
    for i in range(5):
        source.put("home", home(i))
    settings = flow(mode="full", on_delete="delete")
    await run_flow(settings, source, target, store)
    source.how = how
    report = await run_flow(settings, source, target, store)
    assert report.deleted == 0 and target.deletes == 0 and len(target.data["home"]) == 5
    assert report.withheld > 0 and report.notes and "withheld" in report.notes[0]
    assert report.as_json()["notes"] == report.notes


async def test_mass_deletion_needs_to_be_allowed(store: StateStore) -> None:
    """More than the flow's share gone at once is refused unless allowed; a dry run plans it."""
    source, target = pair()
    for i in range(20):
        source.put("home", home(i))
    settings = flow(mode="full", on_delete="delete")
    await run_flow(settings, source, target, store)
    for i in range(5):
        del source.data["home"][f"home-{i}"]
    refused = await run_flow(settings, source, target, store)
    assert (
        refused.deleted == 0 and refused.withheld == 5 and "--allow-mass-delete" in refused.notes[0]
    )
    planned = await run_flow(settings, source, target, store, dry_run=True, allow_mass_delete=True)
    assert planned.deleted == 5 and target.deletes == 0
    assert sorted(key for action, key in planned.planned if action == "delete") == [
        f"home-{i}" for i in range(5)
    ]
    allowed = await run_flow(settings, source, target, store, allow_mass_delete=True)
    assert allowed.deleted == 5 and target.deletes == 5 and len(target.data["home"]) == 15


async def test_dry_run_plans_without_writing(store: StateStore) -> None:
    """A dry run says what it would do and writes nothing anywhere."""
    source, target = pair()
    source.put("home", home(1))
    source.put("home", home(2))
    report = await run_flow(flow(), source, target, store, dry_run=True)
    assert sorted(report.planned) == [("create", "home-1"), ("create", "home-2")]
    assert target.creates == 0 and await store.get_cursor("s-to-t-home") is None
    assert await store.last_run("s-to-t-home") is None


async def test_auth_failure_aborts_the_run(store: StateStore) -> None:
    """Bad credentials stop the run instead of dead-lettering every record."""
    source, target = pair()
    source.put("home", home(1))

    async def refuse(*args: Any) -> Any:
        raise AuthFailed("bad credentials", vendor="t", status=401)

    target.write = refuse  # type: ignore[method-assign]
    with pytest.raises(AuthFailed):
        await run_flow(flow(), source, target, store)
    assert (await store.last_run("s-to-t-home"))["status"] == "failed"
    assert await store.dead_letters() == []


async def test_bounded_write_concurrency(store: StateStore) -> None:
    """No more than the flow's concurrency writes run at once."""
    source, target = pair()
    for i in range(20):
        source.put("home", home(i))
    active, peak = 0, 0
    original = target.write
    full = asyncio.Event()

    async def tracked(*args: Any) -> Any:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        if active >= 3:
            full.set()
        await asyncio.wait_for(full.wait(), timeout=5)
        try:
            return await original(*args)
        finally:
            active -= 1

    target.write = tracked  # type: ignore[method-assign]
    await run_flow(flow(concurrency=3), source, target, store)
    assert peak == 3 and target.creates == 20


async def test_transient_failures_park_then_heal_on_the_next_run(store: StateStore) -> None:
    """A write the target's client gave up on (it retried under its policy) is parked, not
    re-sent by the engine on a policy of its own, and the next run writes it."""
    source, target = pair()
    source.put("home", home(1), updated_at=T0)
    target.unavailable_keys["home-1"] = 1
    first = await run_flow(flow(), source, target, store)
    letter = (await store.dead_letters())[0]
    assert first.failed == 1 and letter["error_type"] == "Unavailable"
    assert letter["category"] == "parked"
    assert target.creates == 0
    second = await run_flow(flow(), source, target, store)
    assert second.created == 1 and await store.dead_letters() == []
    assert len(target.records("home")) == 1


async def test_log_lines_carry_run_id_flow_and_vendor(store: StateStore) -> None:
    """Every engine log line of a run has its run id, flow and vendors bound."""
    from structlog.testing import capture_logs

    source, target = pair()
    source.put("home", home(1))
    target.fail_keys["home-1"] = "no"
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await run_flow(flow(), source, target, store)
    line = next(e for e in logs if e["event"] == "dead letter")
    assert line["flow"] == "s-to-t-home" and line["run_id"] >= 1
    assert line["vendor"] == "fake->fake"


async def test_next_batch_is_read_while_this_one_is_written(store: StateStore) -> None:
    """The read runs ahead by a batch: the first write waits for record 1001 to be read."""
    source, target = pair()
    for i in range(1500):
        source.put("home", home(i, hood=None))
    far_read = asyncio.Event()
    read = source.read

    async def reading(*args: Any, **kw: Any) -> AsyncIterator[Any]:
        async for n, item in _numbered(read(*args, **kw)):
            if n == 1001:
                far_read.set()
            yield item

    write = target.write

    async def writing(*args: Any) -> Any:
        await far_read.wait()  # without read-ahead this never happens: the run would hang
        return await write(*args)

    source.read = reading  # type: ignore[method-assign]
    target.write = writing  # type: ignore[method-assign]
    report = await asyncio.wait_for(run_flow(flow(mode="full"), source, target, store), 60)
    assert report.created == 1500 and len(target.records("home")) == 1500


async def _numbered(stream: AsyncIterator[Any]) -> AsyncIterator[tuple[int, Any]]:
    n = 0
    async for item in stream:
        n += 1
        yield n, item


async def test_a_read_that_fails_midway_fails_the_run_after_writing_what_it_read(
    store: StateStore,
) -> None:
    """Batches read before the failure are written; the cursor stays; the error is the read's."""
    source, target = pair()
    for i in range(1200):
        source.put("home", home(i, hood=None), updated_at=T0)
    read = source.read

    async def failing(*args: Any, **kw: Any) -> AsyncIterator[Any]:
        async for n, item in _numbered(read(*args, **kw)):
            if n > 1100:
                raise AuthFailed("token revoked", vendor="s", status=401)
            yield item

    source.read = failing  # type: ignore[method-assign]
    with pytest.raises(AuthFailed, match="token revoked"):
        await run_flow(flow(), source, target, store)
    assert len(target.records("home")) == 1000  # the first full batch, not the partial one
    assert await store.get_cursor("s-to-t-home") is None
    assert (await store.last_run("s-to-t-home"))["status"] == "failed"
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("read ")]


async def test_a_slow_store_still_ends_with_every_snapshot_stored(store: StateStore) -> None:
    """A store that takes its time over the source snapshot holds nothing up for good: the
    run ends with every record written and every snapshot stored."""
    source, target = pair()
    for i in range(20):
        source.put("home", home(i, hood=None))
    put_records = store.put_records

    async def slow_put(*args: Any) -> None:
        for _ in range(20):
            await asyncio.sleep(0)
        await put_records(*args)

    store.put_records = slow_put  # type: ignore[method-assign]
    report = await run_flow(flow(mode="full"), source, target, store)
    assert report.created == 20 and target.creates == 20
    assert all([await store.get_record("home", f"home-{i}") for i in range(20)])


async def test_every_batch_is_written_and_remembered(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over several batches every record reaches the target once and its source snapshot is
    stored, so a second run writes nothing."""
    monkeypatch.setattr(reading, "BATCH", 10)
    source, target = pair()
    for i in range(25):
        source.put("home", home(i, hood=None))
    report = await run_flow(flow(), source, target, store)
    assert report.created == 25 and target.creates == 25
    assert all([await store.get_record("home", f"home-{i}") for i in range(25)])
    again = await run_flow(flow(), source, target, store, full=True)
    assert again.unchanged == 25 and target.creates == 25 and target.updates == 0


async def test_a_snapshot_that_fails_fails_the_run_and_leaves_no_task(store: StateStore) -> None:
    """The store refusing the snapshot is the run's error; nothing is left running."""
    source, target = pair()
    for i in range(5):
        source.put("home", home(i, hood=None), updated_at=T0)

    async def refuse(*args: Any) -> None:
        raise OSError("disk full")

    store.put_records = refuse  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        await run_flow(flow(), source, target, store)
    assert await store.get_cursor("s-to-t-home") is None
    assert (await store.last_run("s-to-t-home"))["status"] == "failed"
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("snapshot ")]
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("settle ")]


async def test_a_batch_is_settled_while_the_next_is_sent_and_in_order(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's cross-references are stored while the next batch is sent, batch by batch in
    order, and all before the run ends."""
    monkeypatch.setattr(reading, "BATCH", 3)
    source, target = pair()
    for i in range(9):
        source.put("home", home(i, hood=None))
    flushed: list[tuple[str, ...]] = []
    next_batch_sent = asyncio.Event()
    flush_writes, write = store.flush_writes, target.write

    async def held_flush(connector: str, rows: Any, failed: Any = ()) -> None:
        keys = tuple(key for _, key, _, _ in rows)
        if "home-0" in keys:
            # Held until the next batch is being sent: a run that waited for this flush
            # before sending on would never get there (and time out here instead of hanging).
            await asyncio.wait_for(next_batch_sent.wait(), timeout=30)
        await flush_writes(connector, rows, failed)
        if keys:
            flushed.append(keys)

    async def writing(entity: str, record: Any, known_ref: str | None) -> Any:
        if record.key == "home-3":
            next_batch_sent.set()
        return await write(entity, record, known_ref)

    store.flush_writes = held_flush  # type: ignore[method-assign]
    target.write = writing  # type: ignore[method-assign]
    report = await run_flow(flow(concurrency=1), source, target, store)
    assert report.created == 9
    assert flushed == [
        ("home-0", "home-1", "home-2"),
        ("home-3", "home-4", "home-5"),
        ("home-6", "home-7", "home-8"),
    ]
    assert len(await known_at_target(store, [f"home-{i}" for i in range(9)])) == 9


async def test_a_batch_that_cannot_be_settled_fails_the_run(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refusing a batch's cross-references in the background is the run's error."""
    monkeypatch.setattr(reading, "BATCH", 2)
    source, target = pair()
    for i in range(6):
        source.put("home", home(i, hood=None), updated_at=T0)
    flush_writes = store.flush_writes

    async def refuse_first(connector: str, rows: Any, failed: Any = ()) -> None:
        if any(key == "home-0" for _, key, _, _ in rows):
            raise OSError("disk full")
        await flush_writes(connector, rows, failed)

    store.flush_writes = refuse_first  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        await run_flow(flow(), source, target, store)
    assert await store.get_cursor("s-to-t-home") is None
    assert (await store.last_run("s-to-t-home"))["status"] == "failed"
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("settle ")]


async def test_a_cancelled_run_finishes_storing_its_snapshot(store: StateStore) -> None:
    """Cancelled mid-batch, the run still completes the snapshot it started, then stops."""
    source, target = pair()
    for i in range(10):
        source.put("home", home(i, hood=None))
    writing_started = asyncio.Event()

    async def hang(*args: Any) -> Any:
        writing_started.set()
        await asyncio.Event().wait()

    target.write = hang  # type: ignore[method-assign]
    run = asyncio.create_task(run_flow(flow(), source, target, store))
    await writing_started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert await store.get_record("home", "home-9") is not None
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith(("snapshot ", "settle "))]
    assert (await store.last_run("s-to-t-home"))["status"] == "cancelled"


async def test_a_run_that_cannot_start_stops_its_first_read(store: StateStore) -> None:
    """The first batch is read while the run starts; a start that fails leaves no read behind."""
    source, target = pair()
    for i in range(5):
        source.put("home", home(i, hood=None))
    target.fail_keys["div-1"] = "region unknown"
    division = {"key": "div-1", "kind": "division", "name": "D", "parent_name": "Nowhere"}
    with pytest.raises(HubError, match="configured location div-1"):
        await run_flow(flow(options={"locations": [division]}), source, target, store)
    assert not target.records("home")
    assert (await store.last_run("s-to-t-home"))["status"] == "failed"
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("read ")]
    # The first batch's lookups may have recorded its intended creates: none is left open.
    assert await open_creates(store, "home", [f"home-{i}" for i in range(5)]) == set()
    assert await open_creates(store, "location", ["div-1"]) == set()


async def test_configured_locations_are_never_duplicated(store: StateStore) -> None:
    """A flow's configured locations exist at the target before its records are written; a
    crash after the vendor stored one makes the next run look it up, not create it again."""
    source, target = pair()
    source.put("location", hood(parent="mc-1"))
    division = {"key": "div-1", "kind": "division", "name": "D", "parent_name": "Central"}
    mc = {"key": "mc-1", "kind": "master_community", "name": "MC", "parent_key": "div-1"}
    settings = flow("location", options={"locations": [division, mc]})
    with crash_after(target, "mc-1"), pytest.raises(Crash):
        await run_flow(settings, source, target, store)
    assert sorted(r.key for r in target.records("location")) == ["div-1", "mc-1"]
    report = await run_flow(settings, source, target, store)
    assert report.failed == 0 and target.lookups == 1
    assert sorted(r.key for r in target.records("location")) == ["div-1", "hood-1", "mc-1"]
    assert target.creates == 3


def log_calls(store: StateStore, target: FakeConnector, log: list[tuple[str, Any]]) -> None:
    """Record the order of batch lookups at the store and writes at the target."""
    prepare, write = store.prepare_batch, target.write

    async def prepare_logged(*args: Any) -> Any:
        log.append(("lookup", tuple(args[3])))
        return await prepare(*args)

    async def write_logged(entity: str, record: Any, known_ref: str | None) -> Any:
        log.append(("write", record.key))
        for _ in range(10):  # a vendor takes a while to answer
            await asyncio.sleep(0)
        return await write(entity, record, known_ref)

    store.prepare_batch = prepare_logged  # type: ignore[method-assign]
    target.write = write_logged  # type: ignore[method-assign]


async def test_a_record_read_twice_across_batches_is_created_once(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record read again in the next batch (pages shifted under the reader) sees this
    batch's write, never an older lookup: it is created once."""
    monkeypatch.setattr(reading, "BATCH", 3)
    source, target = pair()
    homes = [home(i, hood=None) for i in range(6)]
    again = home(1, hood=None)  # read twice: pages shifted under the reader

    async def read(entity: str, since: Any = None, **kw: Any) -> AsyncIterator[SourceRecord]:
        for record in [*homes[:3], again, *homes[3:]]:
            yield SourceRecord(record, record.key)

    source.read = read  # type: ignore[method-assign]
    report = await run_flow(flow(concurrency=1), source, target, store)
    assert report.created == 6 and report.unchanged == 1 and report.failed == 0
    assert sorted(r.key for r in target.records("home")) == [f"home-{i}" for i in range(6)]
    assert target.creates == 6  # home-1 once
    assert await open_creates(store, "home", [h.key for h in homes]) == set()


async def test_a_parent_written_by_one_batch_is_not_written_again_by_the_next(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next batch's lookups ran before this batch's parent was stored: it still knows it."""
    monkeypatch.setattr(reading, "BATCH", 2)
    source, target = pair()
    divisions = [
        Location(key=f"div-{i}", kind=LocationKind.DIVISION, name=f"D{i}") for i in range(2)
    ]
    communities = [
        Location(
            key=f"mc-{i}", kind=LocationKind.MASTER_COMMUNITY, name=f"M{i}", parent_key="div-0"
        )
        for i in range(2)
    ]
    for record in [*divisions, *communities]:
        source.put("location", record)
    writes: list[tuple[str, Any]] = []
    log_calls(store, target, writes)
    report = await run_flow(flow("location"), source, target, store)
    assert report.created == 4 and report.failed == 0
    assert [key for kind, key in writes if kind == "write"].count("div-0") == 1
    assert target.creates == 4


async def test_a_failed_run_leaves_no_intent_of_its_staged_batch_open(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch staged (looked up, creates intended) but never sent has its intents closed."""
    monkeypatch.setattr(reading, "BATCH", 2)
    source, target = pair()
    for i in range(6):
        source.put("home", home(i, hood=None))
    staged = asyncio.Event()
    prepare = store.prepare_batch

    async def prepare_counted(*args: Any) -> Any:
        try:
            return await prepare(*args)
        finally:
            if "home-2" in args[3]:
                staged.set()

    async def refuse(entity: str, record: Any, known_ref: str | None) -> Any:
        await staged.wait()  # the next batch is staged before this one fails
        raise AuthFailed("bad credentials", vendor="t", status=401)

    store.prepare_batch = prepare_counted  # type: ignore[method-assign]
    target.write = refuse  # type: ignore[method-assign]
    with pytest.raises(AuthFailed):
        await run_flow(flow(), source, target, store)
    keys = [f"home-{i}" for i in range(6)]
    assert await open_creates(store, "home", keys) == set()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("read ")]


async def test_overlapping_batches_leave_exact_state_on_both_backends(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite and PostgreSQL alike, staged and settling batches end in exactly the source's
    records at the target, no open intent, and nothing to write on the next run."""
    monkeypatch.setattr(reading, "BATCH", 3)
    source, target = pair()
    for i in range(10):
        source.put("home", home(i, hood=None))
    async with StateStore.open(url) as pg_or_sqlite:
        first = await run_flow(flow(), source, target, pg_or_sqlite)
        again = await run_flow(flow(mode="full"), source, target, pg_or_sqlite)
        keys = [f"home-{i}" for i in range(10)]
        assert await open_creates(pg_or_sqlite, "home", keys) == set()
        assert len(await known_at_target(pg_or_sqlite, keys)) == 10
    assert first.created == 10 and target.creates == 10
    assert again.created == again.updated == 0 and again.unchanged == 10


@dataclass
class PreparingTarget(FakeConnector):
    """A target that readies itself for a run's writes (as Builder Backed fetches a token)."""

    prepared: list[str] = field(default_factory=list)
    prepared_by_first_write: list[str] | None = None
    fault: HubError | None = None
    hang: bool = False

    async def prepare_writes(self, entity: str) -> None:
        self.prepared.append(entity)
        if self.hang:
            await asyncio.Event().wait()
        if self.fault is not None:
            raise self.fault

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        if self.prepared_by_first_write is None:
            self.prepared_by_first_write = list(self.prepared)
        return await super().write(entity, record, known_ref)


async def test_target_prepares_its_writes_before_the_first(store: StateStore) -> None:
    """A target that can prepare for a run's writes is asked to, once, as the run starts."""
    source, target = FakeConnector(name="s"), PreparingTarget(name="t")
    for i in range(3):
        source.put("home", home(i), updated_at=T0)
    report = await run_flow(flow(), source, target, store)
    assert report.created == 3
    assert target.prepared == ["home"] and target.prepared_by_first_write == ["home"]
    await run_flow(flow(), source, target, store, dry_run=True)
    assert target.prepared == ["home"]  # a dry run writes nothing, so prepares nothing


@pytest.mark.parametrize(
    "target",
    [
        PreparingTarget(name="t", fault=AuthFailed("token refused", vendor="t")),
        PreparingTarget(name="t", hang=True),
    ],
    ids=["failing", "hanging"],
)
async def test_preparing_never_stops_or_outlives_the_run(
    store: StateStore, target: PreparingTarget
) -> None:
    """A failed preparation is left to the writes; one still under way is stopped with the
    run (no task left behind)."""
    source = FakeConnector(name="s")
    for i in range(3):
        source.put("home", home(i), updated_at=T0)
    report = await run_flow(flow(), source, target, store)
    assert (report.created, report.failed) == (3, 0)
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("prepare")] == []


async def test_a_failing_token_endpoint_stops_writing_once(store: StateStore) -> None:
    """A connector-wide fault ends the run's writes at once: no record retries on its own
    budget (formerly about two minutes a record) and the run reports the fault."""
    source, target = pair()
    for i in range(50):
        source.put("home", home(i))
    calls = []

    async def failing(entity: str, record: Any, known_ref: str | None) -> Any:
        calls.append(record.key)
        raise TokenUnavailable("token request failed", vendor="t", status=500)

    target.write = failing  # type: ignore[method-assign]
    with pytest.raises(TokenUnavailable):
        await run_flow(flow(concurrency=4), source, target, store)
    assert len(calls) <= 4
    last = await store.last_run("s-to-t-home")
    assert last is not None and last["status"] == "failed" and "token" in last["error"]


async def test_an_edited_copy_the_origin_refuses_is_reported_once(store: StateStore) -> None:
    """In a two-way pair, an edit to the hub's copy that the origin cannot take is one
    clear dead letter, not a new one on every pass; a further edit is reported again."""
    a, b = FakeConnector(name="a"), FakeConnector(name="b")
    a.put("person", Person(key="p1", first_name="Ada", emails=["ada@example.com"]))
    ab = FlowSettings(name="a-to-b", source="a", target="b", entity="person")
    ba = FlowSettings(name="b-to-a", source="b", target="a", entity="person", mode="full")
    await run_flow(ab, a, b, store)
    copy = b.data["person"]["p1"]
    copy.record = copy.record.model_copy(update={"last_name": "Lovelace"})
    copy.updated_at = datetime.now(UTC) + timedelta(minutes=5)
    a.fail_keys["p1"] = "a homeowner needs a home"
    first = await run_flow(ba, b, a, store)
    letters = await store.dead_letters("b-to-a")
    assert first.failed == 1 and len(letters) == 1
    assert letters[0]["reason"].startswith("edited in b after the hub copied it there from a")
    assert letters[0]["category"] == "edited-copy"
    again = await run_flow(ba, b, a, store)
    assert again.failed == 0 and again.skipped == 1
    assert len(await store.dead_letters("b-to-a")) == 1
    copy.record = copy.record.model_copy(update={"last_name": "King"})
    edited = await run_flow(ba, b, a, store)
    assert edited.failed == 1
