"""The action catalogue: named GHL functions with pydantic input/output models, shared by REST,
the queue and the CLI."""

from ghl_bridge.actions.registry import (
    Action,
    ActionContext,
    ActionSet,
    Kind,
    Registry,
    default_registry,
)
from ghl_bridge.actions.service import OPERATOR, ActionService, KeyPolicy

__all__ = [
    "OPERATOR",
    "Action",
    "ActionContext",
    "ActionService",
    "ActionSet",
    "KeyPolicy",
    "Kind",
    "Registry",
    "default_registry",
]
