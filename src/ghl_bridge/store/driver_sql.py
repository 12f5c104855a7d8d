"""Batch inserts in the database driver's own terms, built from the models.

The webhook inbox's group commit (store/inbox_writer.py) writes a few dozen rows per batch,
thousands per second. Through SQLAlchemy each row's parameters went through its execution
machinery (insertmanyvalues, type processors, result rows) and each statement was a hop to
SQLite's driver thread: about 40 % of the receiver's CPU per delivery (docs/benchmarks.md).
Here the statement text and each column's stored form are still SQLAlchemy's — derived once
per dialect from the `Table` (column names, the types' bind processors, the models' defaults) —
and only the execution is the driver's: `sqlite3` (``executemany``, ``?`` placeholders) or
asyncpg (one ``INSERT … SELECT FROM unnest($1::type[], …)`` for any number of rows).

Imports nothing of ours; the callers own the transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, String, Table
from sqlalchemy.engine import Dialect

DIALECTS = ("sqlite", "postgresql")


class MissingValue(ValueError):
    """A row lacks a value for a column that has no default and may not be NULL."""


@dataclass(frozen=True, slots=True)
class DriverInsert:
    """``INSERT INTO table (every column) … ON CONFLICT (…) DO NOTHING [RETURNING …]``.

    ``params`` turns one row (a mapping by column name; missing columns take the model's
    default, or NULL) into the driver's parameters: a tuple for SQLite, and for PostgreSQL
    `columns_of` turns rows into one array per column for the ``unnest`` form.
    """

    dialect: str
    sql: str
    columns: tuple[str, ...]
    _fill: tuple[Callable[[Mapping[str, Any]], Any], ...]

    def params(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(fill(row) for fill in self._fill)

    def columns_of(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        """One list per column (PostgreSQL's ``unnest`` parameters)."""
        tuples = [self.params(row) for row in rows]
        return (
            [list(column) for column in zip(*tuples, strict=True)]
            if tuples
            else [[] for _ in self.columns]
        )


def insert(
    table: Table,
    dialect: Dialect,
    *,
    conflict: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> DriverInsert:
    """The driver-level insert of ``table`` for ``dialect`` (``sqlite`` or ``postgresql``).

    ``conflict``: the unique columns whose conflict skips the row (empty: any conflict).
    ``returning``: columns returned for the rows inserted (none for a skipped row).
    """
    name = dialect.name
    if name not in DIALECTS:
        raise ValueError(f"unsupported database dialect {name!r}")
    columns = tuple(table.columns)
    names = ", ".join(c.name for c in columns)
    target = f" ({', '.join(conflict)})" if conflict else ""
    if name == "sqlite":
        values = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({values})"  # noqa: S608 - model names
    else:
        arrays = ", ".join(f"${n}::{_array_of(c, dialect)}[]" for n, c in enumerate(columns, 1))
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608
    sql += f" ON CONFLICT{target} DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    return DriverInsert(
        name, sql, tuple(c.name for c in columns), tuple(_filler(c, dialect) for c in columns)
    )


def _array_of(column: Column[Any], dialect: Dialect) -> str:
    """The element type of a column's ``unnest`` array. Strings go as ``text``: an explicit
    cast to ``varchar(n)`` would silently cut a longer value, where the assignment to the
    column refuses it (as SQLAlchemy's own insert does)."""
    if isinstance(column.type, String):
        return "text"
    return str(column.type.compile(dialect=dialect))


def _filler(column: Column[Any], dialect: Dialect) -> Callable[[Mapping[str, Any]], Any]:
    """Row → the column's driver value: the row's or the default, through the type's binding."""
    # The dialect's own implementation: for a `TypeDecorator` the plain `bind_processor` stops
    # at our `process_bind_param` and would leave SQLite's DATETIME text format to sqlite3.
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    default = _default(column)
    key = column.name

    def fill(row: Mapping[str, Any]) -> Any:
        value = row[key] if key in row else default()
        return process(value) if process is not None and value is not None else value

    return fill


def _default(column: Column[Any]) -> Callable[[], Any]:
    spec = column.default
    if spec is not None and getattr(spec, "is_scalar", False):
        scalar = spec.arg  # type: ignore[attr-defined]
        return lambda: scalar
    if spec is not None and getattr(spec, "is_callable", False):
        make = spec.arg  # type: ignore[attr-defined]  # SQLAlchemy's wrapper takes a context
        return lambda: make(None)
    if column.nullable:
        return lambda: None

    def missing() -> Any:
        raise MissingValue(f"no value for {column.table.name}.{column.name}")

    return missing
