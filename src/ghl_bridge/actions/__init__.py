"""The action catalogue: named GHL functions with JSON Schemas, shared by REST, queue and CLI."""

from ghl_bridge.actions.registry import Action, ActionContext, Registry, default_registry
from ghl_bridge.actions.service import ActionService

__all__ = ["Action", "ActionContext", "ActionService", "Registry", "default_registry"]
