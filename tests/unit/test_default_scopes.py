"""The OAuth scopes we ask for by default cover every GHL scope the built-in actions name (that
the spec knows), so a fresh install can run the whole catalogue."""

from __future__ import annotations

from ghl_bridge.actions import default_registry
from ghl_bridge.client.catalog import load_catalog
from ghl_bridge.config import DEFAULT_SCOPES


def test_default_scopes_cover_the_catalogue() -> None:
    known = {scope for op in load_catalog().operations() for scope in op.scopes}
    needed = {s for a in default_registry().all() for s in a.scopes if s in known}
    assert needed - set(DEFAULT_SCOPES.split()) == set()
    assert set(DEFAULT_SCOPES.split()) <= known  # GHL refuses unknown scopes at authorize
