"""The state store's schema: Alembic revisions, stores made before Alembic, and replicas
migrating a fresh database together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from hub.state import StateStore, process_owner
from hub.state.migrate import SCRIPT_LOCATION
from hub.state.schema import HEAD, metadata
from tests.hub.test_store import hold_lease

REVISION = "SELECT version_num FROM alembic_version"


def test_head_is_the_newest_alembic_revision() -> None:
    """The revision a store at the current schema opens at without Alembic is the newest."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


async def test_migrations_are_versioned_and_idempotent(url: str) -> None:
    """Opening twice applies the schema once, at the newest revision, with every table the
    queries use."""
    async with StateStore.open(url) as store:
        assert await store.run(lambda conn: conn.exec_driver_sql(REVISION).all()) == [(HEAD,)]
    async with StateStore.open(url) as store:
        rows = await store.run(lambda conn: conn.exec_driver_sql(REVISION).all())
        tables = await store.run(lambda conn: set(sa.inspect(conn).get_table_names()))
    assert rows == [(HEAD,)]
    assert tables == {*metadata.tables, "alembic_version"}


LEGACY = sa.Table(
    "schema_version",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


def made_before_alembic(conn: sa.Connection, version: int) -> None:
    """Turn a store's bookkeeping back to the hand-written migrations' at ``version``."""
    conn.execute(sa.text("DROP TABLE alembic_version"))
    LEGACY.create(conn)
    for number in range(1, version + 1):
        stamp = datetime(2026, 1, number, tzinfo=UTC)
        conn.execute(LEGACY.insert().values(version=number, applied_at=stamp))


async def test_a_store_made_before_alembic_is_adopted_at_its_version(url: str) -> None:
    """A store of the hand-written schema 3 keeps its rows, is stamped at that revision
    without running anything again, and loses the old bookkeeping table."""
    async with StateStore.open(url) as store:
        await store.flush_writes("bb", [("home", "k1", "H-1", "h")])
        await store.run(lambda conn: made_before_alembic(conn, 3), write=True)
    async with StateStore.open(url) as store:
        assert (await store.get_xref("bb", "home", "k1")).ref == "H-1"  # type: ignore[union-attr]
        assert await store.run(lambda conn: conn.exec_driver_sql(REVISION).all()) == [(HEAD,)]
        tables = await store.run(lambda conn: set(sa.inspect(conn).get_table_names()))
    assert "schema_version" not in tables


async def test_v2_rekeys_source_records_and_keeps_them(url: str) -> None:
    """A store of schema 1 (records keyed by source first, with an index by key) is brought
    to the current schema on open, every stored record kept."""
    old = sa.MetaData()
    old_records = sa.Table(
        "records",
        old,
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("entity", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("source_id", sa.String(255), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("seen_run", sa.Integer, nullable=False),
        sa.Index("records_by_key", "entity", "key"),
    )
    row = {
        "source": "hoa",
        "entity": "home",
        "key": "buildium:association-unit:7",
        "source_id": "7",
        "hash": "a" * 64,
        "body": '{"key": "buildium:association-unit:7"}',
        "seen_run": 3,
    }

    def back_to_v1(conn: sa.Connection) -> None:
        conn.execute(sa.text("DROP TABLE records"))
        old_records.create(conn)
        conn.execute(old_records.insert().values(row))
        made_before_alembic(conn, 1)

    async with StateStore.open(url) as store:
        await store.run(back_to_v1, write=True)
    async with StateStore.open(url) as store:
        shape = await store.run(
            lambda conn: (
                sa.inspect(conn).get_pk_constraint("records")["constrained_columns"],
                [index["name"] for index in sa.inspect(conn).get_indexes("records")],
            )
        )
        assert shape == (["entity", "key", "source"], [])
        assert await store.get_record("home", row["key"]) == {"key": row["key"]}
        assert await store.unseen_records("hoa", "home", 4) == [(row["key"], "7")]
        await store.put_records("hoa", "home", 4, [(row["key"], "7", "b" * 64, "{}")])
        assert await store.unseen_records("hoa", "home", 4) == []
    async with StateStore.open(url) as store:  # and once there, opening changes nothing
        assert await store.get_record("home", row["key"]) == {}


async def test_v3_gives_runs_owners_and_clears_old_running_ones_by_lease(url: str) -> None:
    """A store of schema 2 (runs with no owner) gains the columns on open, its runs kept; an
    old run still "running" is stale unless a lease on its flow is held."""
    old = sa.MetaData()
    old_runs = sa.Table(
        "runs",
        old,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(200), nullable=False, index=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("counts", sa.Text, nullable=False, default="{}"),
        sa.Column("error", sa.Text),
    )
    started = datetime(2026, 1, 1, tzinfo=UTC)

    def back_to_v2(conn: sa.Connection) -> None:
        conn.execute(sa.text("DROP TABLE runs"))
        old_runs.create(conn)
        for flow in ("held", "orphan"):
            conn.execute(old_runs.insert().values(flow=flow, started_at=started, status="running"))
        made_before_alembic(conn, 2)

    async with StateStore.open(url) as store:
        await store.run(back_to_v2, write=True)
    async with StateStore.open(url) as store:
        await hold_lease(store, "flow:held", "elsewhere.example:1", 600)
        cleared = await store.clear_stale()
        assert [(s.kind, s.name) for s in cleared] == [("run", "orphan")]
        assert (await store.last_run("held"))["status"] == "running"  # type: ignore[index]
        assert (await store.last_run("orphan"))["status"] == "stale"  # type: ignore[index]
        run_id = await store.start_run("new")
        owner = await store.run(
            lambda conn: conn.execute(
                sa.text("SELECT owner FROM runs WHERE id = :id"), {"id": run_id}
            ).scalar()
        )
        assert owner == process_owner()


async def test_v4_gives_dead_letters_the_category_their_error_class_had(url: str) -> None:
    """Dead letters of a store at revision 0003 are categorised on open: those each run used
    to retry by class name are parked, an edited copy is one, the rest are refused."""
    old = sa.MetaData()
    old_letters = sa.Table(
        "dead_letters",
        old,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(200), nullable=False, index=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("source_id", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("error_type", sa.String(100), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, default=1),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    kinds = {"a": "Unavailable", "b": "InvalidRecord", "c": "EditedCopy", "d": "MissingParent"}

    def back_to_v3(conn: sa.Connection) -> None:
        conn.execute(sa.text("DROP TABLE dead_letters"))
        old_letters.create(conn)
        for key, kind in kinds.items():
            conn.execute(
                old_letters.insert().values(
                    flow="f",
                    entity="home",
                    key=key,
                    source_id=key,
                    reason="r",
                    error_type=kind,
                    attempts=1,
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))

    async with StateStore.open(url) as store:
        await store.run(back_to_v3, write=True)
    async with StateStore.open(url) as store:
        letters = {letter["key"]: letter["category"] for letter in await store.dead_letters("f")}
        assert await store.run(lambda conn: conn.exec_driver_sql(REVISION).all()) == [(HEAD,)]
    assert letters == {"a": "parked", "b": "refused", "c": "edited-copy", "d": "parked"}


async def test_stores_opening_together_on_a_fresh_database_migrate_once(url: str) -> None:
    """Replicas starting together on a fresh database all open it: the first migrates, the
    others wait for its lock and find the schema made (none dies creating a table twice)."""

    async def open_one() -> list[tuple[str]]:
        async with StateStore.open(url) as store:
            await store.flush_writes("bb", [("home", "k1", "H-1", "h")])
            return await store.run(lambda conn: conn.exec_driver_sql(REVISION).all())

    assert await asyncio.gather(*(open_one() for _ in range(4))) == [[(HEAD,)]] * 4
