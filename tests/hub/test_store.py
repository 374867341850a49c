"""The state store on SQLite and PostgreSQL: one code path, every table's contract."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.errors import ConfigError
from hub.state import Stale, StateStore, owner_alive, process_owner
from hub.state.backends import WAL_PAGES, open_database
from hub.state.bulk import MULTI_ROW
from hub.state.runs import CHECKPOINT_ROWS


async def pending(store: StateStore, keys: list[str]) -> set[str]:
    """Which of these keys at ``bb`` have a create sent with no known outcome (a dry batch)."""
    return (await store.prepare_batch(None, "bb", "home", keys, {})).pending


async def test_cross_reference(url: str) -> None:
    """Keys map to refs per connector, both ways, with the last written hash."""
    async with StateStore.open(url) as store:
        await store.flush_writes("bb", [("home", "k1", "H-1", "a" * 64)])
        await store.flush_writes("bb", [("home", "k1", "H-1", "b" * 64)])
        found = await store.get_xref("bb", "home", "k1")
        assert found is not None and found.hash == "b" * 64
        assert (await store.find_ref("bb", "home", "H-1")).key == "k1"  # type: ignore[union-attr]
        assert await store.get_xref("crm", "home", "k1") is None
        await store.drop_xref("bb", "home", "k1")
        assert await store.get_xref("bb", "home", "k1") is None


async def test_ledger_cursor_runs_and_records(url: str) -> None:
    """Intended creates, cursors, runs and source records keep their contracts."""
    async with StateStore.open(url) as store:
        await store.ledger_begin("f", "bb", "home", "k1", "h")
        assert await store.ledger_pending("bb", "home", "k1")
        await store.ledger_resolve("bb", "home", "k1")
        assert not await store.ledger_pending("bb", "home", "k1")
        moment = datetime(2025, 5, 1, 12, tzinfo=UTC)
        first = await store.start_run("f")
        await store.finish_run(first, "ok", {}, cursor=("f", moment))
        assert await store.get_cursor("f") == moment
        run = await store.start_run("f")
        later = datetime(2025, 6, 1, 8, tzinfo=UTC)
        await store.finish_run(run, "ok", {"read": 3, "created": 2}, cursor=("f", later))
        last = await store.last_run("f")
        assert last is not None and (last["status"], last["read"], last["created"]) == ("ok", 3, 2)
        assert await store.get_cursor("f") == later  # moved with the run's end
        await store.put_records(
            "src",
            "home",
            run,
            [("k1", "1", "h", '{"key": "k1"}'), ("k2", "2", "h", '{"key": "k2"}')],
        )
        assert await store.get_record("home", "k2") == {"key": "k2"}
        await store.put_records("src", "home", run + 1, [("k1", "1", "h", '{"key": "k1"}')])
        assert await store.unseen_records("src", "home", run + 1) == [("k2", "2")]


async def test_intents_settle_by_cross_reference(url: str) -> None:
    """A create whose cross-reference was written is no longer open, even after the record
    is forgotten at the target; one given up is closed; one never answered stays open."""
    async with StateStore.open(url) as store:
        keys = ["sent", "lost", "gave-up"]
        assert (await store.prepare_batch("f", "bb", "home", keys, {})).intended == keys
        assert await pending(store, keys) == {"sent", "lost", "gave-up"}
        await store.flush_writes("bb", [("home", "sent", "H-1", "h")], [("home", "gave-up")])
        assert await pending(store, keys) == {"lost"}
        assert not await store.ledger_pending("bb", "home", "sent")
        assert await store.ledger_pending("bb", "home", "lost")
        await store.drop_xref("bb", "home", "sent")  # deleted at the target later
        assert await pending(store, ["sent", "lost"]) == {"lost"}
        # Another target's cross-reference settles nothing here.
        await store.flush_writes("crm", [("home", "lost", "C-1", "h")])
        assert await store.ledger_pending("bb", "home", "lost")


async def test_a_batch_is_prepared_in_one_call(url: str) -> None:
    """Known keys, open creates, parents and new intents come back from one transaction; a
    dry run (no flow) records no intent."""
    async with StateStore.open(url) as store:
        await store.flush_writes(
            "bb", [("home", "known", "H-1", "h"), ("location", "n1", "N", "h")]
        )
        await store.ledger_begin("f", "bb", "home", "lost", "h")
        keys = ["known", "lost", "new-1", "new-2"]
        parents = {"location": ["n1", "n2"]}
        dry = await store.prepare_batch(None, "bb", "home", keys, parents)
        assert dry.intended == [] and dry.pending == {"lost"}
        assert await pending(store, keys) == {"lost"}
        batch = await store.prepare_batch("f", "bb", "home", keys, parents)
        assert set(batch.known) == {"known"} and batch.known["known"].ref == "H-1"
        assert batch.pending == {"lost"}
        assert batch.intended == ["new-1", "new-2"]
        assert set(batch.parents["location"]) == {"n1"}
        assert await pending(store, keys) == {"lost", "new-1", "new-2"}


async def test_dead_letters(url: str) -> None:
    """Dead letters keep their reason and body, count repeats, clear and drop."""
    async with StateStore.open(url) as store:
        await store.add_dead_letter(
            "f", "home", "k1", "1", "bad state", "InvalidRecord", {"key": "k1"}
        )
        await store.add_dead_letter(
            "f", "home", "k1", "1", "still bad", "InvalidRecord", {"key": "k1"}
        )
        await store.add_dead_letter("f", "home", "k2", "2", "nope", "MissingParent", None)
        letters = await store.dead_letters("f")
        assert [(d["key"], d["attempts"], d["reason"]) for d in letters] == [
            ("k1", 2, "still bad"),
            ("k2", 1, "nope"),
        ]
        await store.clear_dead_letter("f", "home", "k1")
        assert await store.drop_dead_letter(letters[1]["id"])
        assert await store.dead_letters() == []


def dead_owner() -> str:
    """The ``host:pid`` of a process of this host that has exited (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}:{int(done.stdout)}"


def test_owner_alive_knows_this_host_only() -> None:
    """A process of this host is alive or gone; another host's is unknown."""
    assert owner_alive(process_owner()) is True
    assert owner_alive(dead_owner()) is False
    assert owner_alive("elsewhere.example:1") is None


async def test_what_a_dead_process_left_is_cleared(url: str) -> None:
    """A run left "running" and a lease left held by a process of this host that died are
    cleared at once, whatever their expiry: the run marked stale with the reason, the lease
    dropped; a live process's run is left alone."""
    gone = dead_owner()
    async with StateStore.open(url, owner=gone) as dead:
        orphan = await dead.start_run("f")
        await hold_lease(dead, "flow:f", gone, 600)
    async with StateStore.open(url) as store:
        mine = await store.start_run("g")
        reason = f"its process {gone} is gone"
        assert await store.clear_stale() == [
            Stale("lease", "flow:f", gone, reason),
            Stale("run", "f", gone, reason, orphan),
        ]
        last = await store.last_run("f")
        assert last is not None and last["status"] == "stale"
        assert last["error"] == f"abandoned: {reason}" and last["finished_at"] is not None
        assert (await store.last_run("g"))["id"] == mine  # type: ignore[index]
        assert (await store.last_run("g"))["status"] == "running"  # type: ignore[index]
        assert await store.clear_stale() == []


async def test_another_hosts_run_is_stale_once_unrenewed_past_its_time(url: str) -> None:
    """From another host only expiry tells: a run or lease past it unrenewed is stale, one
    renewed in time is not."""
    other = "elsewhere.example:7"
    async with StateStore.open(url, owner=other) as remote:
        remote.run_ttl = -1  # its time is already past
        lapsed = await remote.start_run("f")
        renewed = await remote.start_run("g")
        await hold_lease(remote, "flow:f", other, -1)
        await hold_lease(remote, "flow:g", other, 600)
    async with StateStore.open(url, owner=other) as remote:
        await remote.run(
            lambda conn: conn.execute(
                sa.text("UPDATE runs SET status = 'ok' WHERE id = :id"), {"id": lapsed}
            ),
            write=True,
        )
        assert await remote.renew_runs(600) == 1  # only g is still running
        await remote.run(
            lambda conn: conn.execute(
                sa.text("UPDATE runs SET status = 'running' WHERE id = :id"), {"id": lapsed}
            ),
            write=True,
        )
    async with StateStore.open(url) as store:
        cleared = await store.clear_stale()
        assert [(s.kind, s.name, s.run_id) for s in cleared] == [
            ("lease", "flow:f", None),
            ("run", "f", lapsed),
        ]
        assert all(s.reason.startswith(f"{other} has not renewed it since") for s in cleared)
        assert (await store.last_run("g"))["id"] == renewed  # type: ignore[index]
        assert (await store.last_run("g"))["status"] == "running"  # type: ignore[index]


async def test_bulk_writes_store_every_row_across_statements(url: str) -> None:
    """Bulk writes larger than one statement (SQLite stores them a few hundred rows to a
    multi-row INSERT) keep every row, the last partial statement's too, and an upsert of a
    key given twice keeps its last values."""
    count = 2 * MULTI_ROW + 7
    keys = [f"buildium:association-unit:{i}" for i in range(count)]
    async with StateStore.open(url) as store:
        assert (await store.prepare_batch("f", "bb", "home", keys, {})).intended == keys
        assert await pending(store, keys) == set(keys)
        rows = [(key, str(i), f"h{i}", f'{{"key": "{key}"}}') for i, key in enumerate(keys)]
        rows.insert(4, (keys[3], "3", "again", '{"key": "again"}'))  # in the same statement
        await store.put_records("hoa", "home", 1, rows)
        unseen = await store.unseen_records("hoa", "home", 2)
        assert sorted(unseen) == sorted((key, str(i)) for i, key in enumerate(keys))
        assert await store.get_record("home", keys[3]) == {"key": "again"}
        written = [("home", key, f"R-{i}", f"h{i}") for i, key in enumerate(keys)]
        await store.flush_writes("bb", written)
        known = (await store.prepare_batch(None, "bb", "home", keys, {})).known
        assert {k: x.ref for k, x in known.items()} == {k: f"R-{i}" for i, k in enumerate(keys)}
        assert await pending(store, keys) == set()


async def test_sqlite_log_is_checkpointed_after_a_run_not_during_it(tmp_path: Path) -> None:
    """On SQLite the write-ahead log is copied into the database file once a run that
    wrote enough is recorded as finished (on the store's thread, without the run waiting),
    not by a commit in the middle of the run; a small run leaves it for a later one."""
    path = tmp_path / "state.db"
    async with StateStore.open(f"sqlite:///{path}") as store:
        small = await store.start_run("hoods")
        rows = [(f"k{i}", str(i), "h", '{"x": "' + "y" * 500 + '"}') for i in range(50)]
        await store.put_records("hoa", "location", small, rows)
        before = path.stat().st_size
        await store.finish_run(small, "ok", {"created": 50})
        assert len(await store.unseen_records("hoa", "location", small + 1)) == 50
        assert path.stat().st_size == before
    keys = [f"buildium:association-unit:{i}" for i in range(CHECKPOINT_ROWS)]
    async with StateStore.open(f"sqlite:///{path}") as store:
        pages = await store.run(lambda conn: conn.exec_driver_sql("PRAGMA wal_autocheckpoint"))
        assert pages.scalar() == WAL_PAGES
        run_id = await store.start_run("homes")
        rows = [(key, str(i), f"h{i}", '{"x": "' + "y" * 50 + '"}') for i, key in enumerate(keys)]
        await store.put_records("hoa", "home", run_id, rows)
        before = path.stat().st_size
        await store.finish_run(run_id, "ok", {"created": len(keys)})
        # The next call runs after the checkpoint queued before it on the same thread.
        assert len(await store.unseen_records("hoa", "home", run_id + 1)) == len(keys)
        assert path.stat().st_size > before + len(keys) * 50


def test_a_postgresql_store_without_its_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without asyncpg (the ``postgres`` extra), a PostgreSQL URL is a config error naming it."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "asyncpg" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"property-hub\[postgres\]") as raised:
        open_database("postgresql://prophub@db.example/state")
    assert raised.value.key == "state.url"


async def hold_lease(store: StateStore, name: str, owner: str, ttl: float) -> None:
    """A lease as the daemon of an earlier version left it (before the job queue)."""
    expires = datetime.now(UTC) + timedelta(seconds=ttl)
    await store.run(
        lambda conn: conn.execute(
            sa.text("INSERT INTO leases (name, owner, expires_at) VALUES (:n, :o, :e)"),
            {"n": name, "o": owner, "e": expires},
        ),
        write=True,
    )


async def test_a_store_outlives_its_connections_being_cut(url: str) -> None:
    """The server dropped every connection (a restart, a failover): the next calls work on
    new ones instead of failing on the dead ones the pool still held."""
    if not url.startswith("postgresql"):
        pytest.skip("a SQLite store holds no server connection")
    from sqlalchemy.ext.asyncio import create_async_engine

    from hub.state import async_url

    async with StateStore.open(url, connections=3) as store:
        first = await store.start_run("flow")
        name = sa.engine.make_url(url).database
        admin = create_async_engine(async_url(url), isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
        finally:
            await admin.dispose()
        await store.finish_run(first, "ok", {})
        last = await store.last_run("flow")
        assert last is not None and last["status"] == "ok"
