"""What the simulator received, as far as a test of "never write twice" needs it.

Every POST admitted to an operation's handler (past the token, the rate limit and any fault
that strikes before the work) is remembered by a digest of its exact body, per operation; a
POST whose body was already admitted is counted as a repeat: a second write. A retry after a
429 is not one (GHL did no work), a blind retry after a lost answer is, even when the second
write fails, which counting records afterwards would miss. GET `/_sim/journal` reads it.
"""

from __future__ import annotations

import hashlib
from collections import Counter

__all__ = ["Journal"]

# A bound on the digests kept (16 bytes each): a long demo run forgets the oldest half.
_MAX_DIGESTS = 1_000_000


class Journal:
    def __init__(self) -> None:
        self._seen: dict[bytes, None] = {}
        self.posts: Counter[str] = Counter()
        self.repeated: Counter[str] = Counter()

    def record(self, method: str, operation: str, body: bytes) -> None:
        if method.upper() != "POST":
            return
        self.posts[operation] += 1
        digest = hashlib.blake2b(operation.encode() + b"\0" + body, digest_size=16).digest()
        if digest in self._seen:
            self.repeated[operation] += 1
            return
        if len(self._seen) >= _MAX_DIGESTS:
            for old in list(self._seen)[: _MAX_DIGESTS // 2]:
                del self._seen[old]
        self._seen[digest] = None

    def summary(self) -> dict[str, dict[str, int]]:
        return {"posts": dict(self.posts), "repeatedPosts": dict(self.repeated)}
