"""SQLite statements in one trip to aiosqlite's thread instead of four.

aiosqlite runs every call on its own thread, and SQLAlchemy's adapter makes four such calls per
statement: open a cursor, execute, fetch the rows, close the cursor. Each is a hand-off to the
thread and back to the event loop (~0.2 ms idle, a loop iteration under load), and with the one
shared SQLite connection (store/db.py) those hand-offs, not SQLite, bounded the embedded mode:
a group commit of webhooks held the connection for ~13 of them, a batch of 64 job outcomes for
~250. This cursor does the four steps in one function on the thread: one hand-off per statement.

Everything else is SQLAlchemy's aiosqlite dialect as is (connections, transactions, errors,
server-side cursors), but for skipping the hand-off of a rollback or commit with no transaction
open. It reaches into aiosqlite in one place, `run_on_thread` (`Connection._execute`: run a
function on the connection's thread, as SQLAlchemy's own adapter reaches ``_tx``), and reads
the wrapped sqlite3 connection's ``in_transaction``; without ``_execute`` `module()` returns
None and the engine keeps the stock adapter.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import immutabledict

# (description, rows, rowcount, lastrowid) of one statement
_Outcome = tuple[Any, list[Any], int, int | None]
R = TypeVar("R")


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On aiosqlite's thread: the whole statement, cursor to closed cursor."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor holding one statement's outcome; the driver's cursor is already
    closed when `execute` returns."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:  # no driver cursor opened here
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._soft_closed_memoized = immutabledict()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing to close: the driver's cursor closed with its statement."""

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._one_trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._one_trip(operation, seq_of_parameters, many=True)

    async def _one_trip(self, operation: str, parameters: Any, *, many: bool) -> None:
        conn: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            outcome = await run_on_thread(
                conn, partial(_run, operation=operation, parameters=parameters, many=many)
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def nextset(self) -> None:
        raise NotImplementedError("SQLite has no result sets after the first")

    def setinputsizes(self, *inputsizes: Sequence[Any]) -> None:
        """A no-op, as in sqlite3."""


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor

    # The pool ends every checkout with a rollback, and a read-only session with one too: a
    # hand-off each, for nothing when no transaction is open (SQLite begins one only at the
    # first write). The flag is read while this connection is checked out, so no statement of
    # ours runs on the driver's thread meanwhile.
    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()

    def _in_transaction(self) -> bool:
        driver = getattr(self._connection, "_connection", None)  # None once closed
        return driver is None or bool(driver.in_transaction)


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        stock = super().connect(*arg, **kw)
        return _Connection(self, stock._connection)


async def run_on_thread(driver: aiosqlite.Connection, work: Callable[[sqlite3.Connection], R]) -> R:
    """Run ``work(connection)`` on the aiosqlite connection's own thread: a whole transaction in
    one hand-off (store/inbox_writer.py). The caller holds the connection (checked out of the
    pool), so nothing else runs on it meanwhile."""
    execute = getattr(driver, "_execute", None)
    if not callable(execute):
        raise RuntimeError("this aiosqlite cannot run a function on its thread (_execute)")
    result: R = await execute(partial(work, driver._conn))
    return result


def module() -> AsyncAdapt_aiosqlite_dbapi | None:
    """The DBAPI module to hand `create_async_engine(module=...)`, or None if this aiosqlite
    lacks what the one-trip cursor needs."""
    if not callable(getattr(aiosqlite.Connection, "_execute", None)):
        return None
    return _DBAPI(aiosqlite, sqlite3)
