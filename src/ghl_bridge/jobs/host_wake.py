"""Wake-ups between the processes of one host that share a database queue.

A job row written by one process (`serve --no-worker` storing webhooks, a CLI replay) used to
reach a `ghl-bridge worker` in another process only at that worker's next poll, every 0.5 s:
the receipt → handler latency of the split topology, which is the one that puts processing on
the second core. Now each running worker binds a Unix datagram socket in Linux's abstract
namespace, at one of `SLOTS` names derived from the database and the queue, and a producer,
after its commit, sends a one-byte datagram to every slot.

A datagram is a hint to claim now, nothing more: the jobs are in the database whatever happens
to it. A lost one, a slot nobody holds, a full socket buffer, a worker on another host, more
workers than slots: each costs what it cost before, the poll. The names carry a digest of the
database's address (no credentials) and the queue, so two services on one host never wake each
other. An abstract socket has no file permissions, so the kernel's credentials of each sender
(``SO_PASSCRED``) are checked: only a process of the worker's own user can wake it, and another
user's datagrams cannot make it claim in a loop. Linux only (the abstract namespace); elsewhere
workers poll as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import struct
import sys
from collections.abc import Callable

from sqlalchemy.engine import make_url

SLOTS = 8  # workers of one queue on one host that are woken; any more poll
SUPPORTED = sys.platform == "linux"
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
_ANCILLARY = socket.CMSG_SPACE(_CREDENTIALS.size) if SUPPORTED else 0


class HostWake:
    """One queue's wake-up names on this host: `listen` for a worker, `notify` for producers."""

    def __init__(self, key: str, *, slots: int = SLOTS) -> None:
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        self._names = [f"\0ghl-bridge-wake-{digest}-{n}".encode() for n in range(slots)]
        self._sender: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._own: bytes | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def for_queue(cls, database_url: str, queue_name: str) -> HostWake:
        """The names for ``queue_name`` on this database, however its URL is spelled: the
        SQLite file's absolute path, or PostgreSQL's host, port and database; never the
        password."""
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            where = os.path.abspath(url.database or ":memory:")
        else:
            where = f"{url.host}:{url.port or ''}/{url.database}"
        return cls(f"{url.get_backend_name()}|{where}|{queue_name}")

    def __repr__(self) -> str:
        return f"HostWake(listening={self._own is not None})"

    @property
    def listening(self) -> bool:
        return self._own is not None

    def listen(self, on_wake: Callable[[], None]) -> bool:
        """Take the first free slot and call ``on_wake`` (on this event loop) whenever a
        producer notifies; False if there is no free slot or the platform has no abstract
        namespace (the worker then polls)."""
        if not SUPPORTED or self._listener is not None:
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # each sender's uid
        for name in self._names:
            try:
                sock.bind(name)
            except OSError:  # held by another worker
                continue
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            loop.add_reader(sock.fileno(), self._drain, sock, on_wake)
            self._listener, self._own, self._loop = sock, name, loop
            return True
        sock.close()
        return False

    @staticmethod
    def _drain(sock: socket.socket, on_wake: Callable[[], None]) -> None:
        """Read every datagram waiting (they say nothing but "claim"), then wake once if any
        came from a process of this user."""
        own = os.getuid()
        wanted = False
        with contextlib.suppress(OSError):
            while True:
                _, ancillary, _, _ = sock.recvmsg(16, _ANCILLARY)
                wanted = wanted or _sender_uid(ancillary) == own
        if wanted:
            on_wake()

    def notify(self) -> None:
        """Tell every other worker of this queue on this host to claim now. Never blocks,
        never raises: a datagram that cannot be sent is a poll later, not an error."""
        if not SUPPORTED:
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for name in self._names:
            if name != self._own:
                with contextlib.suppress(OSError):  # nobody there, or its buffer is full
                    self._sender.sendto(b"w", name)

    def unlisten(self) -> None:
        """Give the slot back: the worker stopped."""
        if self._listener is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._listener.fileno())
        self._listener.close()
        self._listener = self._own = self._loop = None

    def close(self) -> None:
        """Give the slot back and drop the producer's socket too."""
        self.unlisten()
        if self._sender is not None:
            self._sender.close()
            self._sender = None


def _sender_uid(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The sender's uid from a datagram's ``SCM_CREDENTIALS`` (the kernel attaches it)."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            _, uid, _ = _CREDENTIALS.unpack(data[: _CREDENTIALS.size])
            return int(uid)
    return None
