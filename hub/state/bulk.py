"""Upserts and bulk statements, compiled once per store for its database.

The hot bulk paths (a batch's intents, cross-references and source records) skip SQLAlchemy's
per-row parameter handling: a statement is compiled once, and rows are passed to the driver as
plain tuples with their types converted here.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite

__all__ = ["MULTI_ROW", "SQLITE_MAX_PARAMETERS", "Bulk", "Statements"]

#: rows of one multi-row INSERT on SQLite (below its limit of 32,766 parameters a statement)
MULTI_ROW = 250
SQLITE_MAX_PARAMETERS = 32_766


@dataclass(frozen=True, slots=True)
class Bulk:
    """A statement compiled once for the store's database, run with plain row tuples."""

    sql: str
    order: tuple[int, ...]  # the statement's parameters, as positions in the given rows
    processors: tuple[Callable[[Any], Any] | None, ...]  # per parameter, None: as is
    # A multi-row insert: its VALUES group, repeated for up to ``per`` rows a statement
    group: str = ""
    per: int = 1

    def run(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Execute for every row: one statement per row, or (multi-row) per ``per`` rows."""
        params = self.params(rows)
        if not self.group:
            conn.exec_driver_sql(self.sql, list(params))
            return
        head, tail = self.sql.split(self.group, 1)
        for start in range(0, len(params), self.per):
            chunk = params[start : start + self.per]
            sql = head + ", ".join([self.group] * len(chunk)) + tail
            conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))

    def params(self, rows: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
        """Each row's values in the statement's order, as the driver takes them."""
        if self.order != tuple(range(len(self.order))):
            take = operator.itemgetter(*self.order)
            rows = [take(row) if len(self.order) > 1 else (take(row),) for row in rows]
        typed = [(i, p) for i, p in enumerate(self.processors) if p is not None]
        if not typed or not rows:
            return rows
        # Batches repeat values (one timestamp per batch): each distinct one is converted
        # once, and the rows are rebuilt column by column, at C speed.
        columns = list(zip(*rows, strict=True))
        for i, process in typed:
            converted = {value: process(value) for value in set(columns[i])}
            columns[i] = tuple(map(converted.__getitem__, columns[i]))
        return list(zip(*columns, strict=True))


class Statements:
    """Upserts for one dialect, and the bulk statements compiled for it so far."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self.dialect = dialect
        self._bulks: dict[str, Bulk] = {}
        #: rows written in bulk since the count was last reset (SQLite's checkpoints use it)
        self.rows = 0

    def insert(self, table: sa.Table) -> Any:
        """An INSERT of the dialect's own kind, which has ``on_conflict_do_update``."""
        dialect = (
            sa.dialects.postgresql if self.dialect.name == "postgresql" else sa.dialects.sqlite
        )
        return dialect.insert(table)

    def upsert(
        self, conn: sa.Connection, table: sa.Table, keys: dict[str, Any], values: dict[str, Any]
    ) -> None:
        """Insert one row, or update ``values`` of the row with these ``keys``."""
        # Both backends speak INSERT ... ON CONFLICT DO UPDATE; one statement either way.
        statement = self.insert(table).values(**keys, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=values))

    def upsert_many(
        self,
        conn: sa.Connection,
        table: sa.Table,
        keys: list[str],
        names: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Insert or update many rows (values of ``names``) with one statement (executemany)."""
        if not rows:
            return
        statement = self.insert(table)
        updates = {name: statement.excluded[name] for name in names if name not in keys}
        upsert = statement.on_conflict_do_update(index_elements=keys, set_=updates)
        self.executemany(conn, f"upsert {table.name}", table, upsert, names, rows)

    def executemany(
        self,
        conn: sa.Connection,
        name: str,
        table: sa.Table,
        statement: sa.Insert | sa.Update,
        names: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Run ``statement`` once per row (values of ``names``), compiled on first use."""
        key = f"{name} {','.join(names)}"
        bulk = self._bulks.get(key)
        if bulk is None:
            bulk = self._bulks[key] = self._compile(table, statement, names)
        bulk.run(conn, rows)
        self.rows += len(rows)

    def _compile(
        self, table: sa.Table, statement: sa.Insert | sa.Update, names: Sequence[str]
    ) -> Bulk:
        dialect = self.dialect
        if isinstance(statement, sa.Insert):
            statement = statement.values({n: sa.bindparam(n) for n in names})
        compiled = statement.compile(dialect=dialect)
        order = tuple(names.index(n) for n in compiled.positiontup or ())
        processors = tuple(
            table.c[names[i]].type.dialect_impl(dialect).bind_processor(dialect) for i in order
        )
        group, per = "", 1
        if dialect.name == "sqlite" and isinstance(statement, sa.Insert) and MULTI_ROW > 1:
            # SQLite's driver lets go of the GIL for every row of an executemany, and takes
            # it back from the event loop each time; a statement of many rows lets go once
            # (the loop runs on, undisturbed, while the rows are stored).
            group = "(" + ", ".join("?" * len(order)) + ")"
            per = min(MULTI_ROW, SQLITE_MAX_PARAMETERS // len(order))
            if compiled.string.count(group) != 1:
                group, per = "", 1  # not the one VALUES group expected: row by row
        return Bulk(compiled.string, order, processors, group, per)
