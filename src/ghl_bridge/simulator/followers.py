"""Follower lists (user ids following a contact or an opportunity), as GHL edits them.

The add and remove endpoints of both areas answer the same way: the full list after the change
plus what actually changed (`followersAdded` / `followersRemoved`), so a repeated call changes
nothing and reports an empty delta. Order is kept: existing followers first, new ones appended
in the order given.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["add_followers", "remove_followers"]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))


def add_followers(current: list[str], given: Iterable[str]) -> tuple[list[str], list[str]]:
    """`(followers after, followers added)`; already-following ids are not re-added."""
    added = [user for user in _unique(given) if user not in current]
    return [*current, *added], added


def remove_followers(current: list[str], given: Iterable[str]) -> tuple[list[str], list[str]]:
    """`(followers after, followers removed)`; ids that were not following are ignored."""
    leaving = set(_unique(given))
    removed = [user for user in current if user in leaving]
    return [user for user in current if user not in leaving], removed
