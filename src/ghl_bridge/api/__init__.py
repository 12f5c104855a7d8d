"""The REST API (FastAPI) and the webhook receiver route. No business logic lives here."""

from ghl_bridge.api.app import create_app

__all__ = ["create_app"]
