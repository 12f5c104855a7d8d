"""/v1/subscriptions and /v1/deliveries: a tenant's routing rules and what became of each event.

A subscription sends matching events to a webhook (Standard Webhooks signed; the secret is
shown once, on creation and on rotation) or runs an action with an input filled from the event.
Reads need ``read``; creating, deleting, rotating and replaying need ``write``. An action
target must be one the creating key could run itself (its scopes and allowlists are stored with
the subscription and bound every run); a webhook target exports event data, so it also needs
``read``. Another tenant's subscription or delivery id answers 404, like one that never was.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ghl_bridge.actions.service import KeyPolicy
from ghl_bridge.api import errors
from ghl_bridge.api.deps import (
    LOCATION_ID,
    CallerDep,
    InsufficientScope,
    ReaderDep,
    RuntimeDep,
    WriterDep,
)
from ghl_bridge.errors import InvalidInput
from ghl_bridge.events.subscriptions import Creator, Spec
from ghl_bridge.store.models import Delivery, Subscription

router = APIRouter(prefix="/v1", tags=["subscriptions"])

LocationId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LOCATION_ID)]
TypePattern = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.*?]+$")]
Op = Literal["eq", "ne", "in", "contains", "exists", "gt", "lt"]
DeliveryStatus = Literal["pending", "delivered", "failed", "dead"]
ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PredicateIn(BaseModel):
    """``{"path": "pipelineStageId", "op": "eq", "value": "X"}``; ``tags contains "hot"``."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=200, description="dotted field path")
    op: Op
    value: Any = None


class WebhookTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["webhook"]
    url: str = Field(min_length=1, max_length=2048, description="https; public addresses only")


class ActionTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["action"]
    action: str = Field(min_length=1, max_length=100, description="an action name (/v1/actions)")
    input: dict[str, Any] = Field(
        default_factory=dict,
        description='the action input; "{{path}}" (or "{{event.path}}") takes the event field',
    )


Target = Annotated[WebhookTarget | ActionTarget, Field(discriminator="kind")]


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=200)
    event_types: list[TypePattern] = Field(
        alias="eventTypes",
        min_length=1,
        max_length=100,
        description="event types or patterns (Contact*, *); GET /v1/triggers lists them",
    )
    locations: list[LocationId] | None = Field(
        default=None, min_length=1, max_length=200, description="only these; omit for all"
    )
    predicates: list[PredicateIn] = Field(
        default_factory=list, max_length=20, description="all must hold"
    )
    target: Target
    active: bool = True


class TargetOut(BaseModel):
    kind: Literal["webhook", "action"]
    url: str | None = None
    action: str | None = None
    input: dict[str, Any] | None = None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    name: str
    event_types: list[str] = Field(alias="eventTypes")
    locations: list[str] | None
    predicates: list[dict[str, Any]]
    target: TargetOut
    active: bool
    signing_secrets: int = Field(alias="signingSecrets", description="live secrets (rotation)")
    created_at: datetime = Field(alias="createdAt")

    @classmethod
    def of(cls, row: Subscription, secrets: int) -> SubscriptionOut:
        target = TargetOut(
            kind="webhook" if row.target_kind == "webhook" else "action",
            url=row.url,
            action=row.action,
            input=None if row.action_input is None else json.loads(row.action_input),
        )
        return cls.model_validate(
            {
                "id": row.id,
                "name": row.name,
                "eventTypes": json.loads(row.event_types),
                "locations": None if row.location_ids is None else json.loads(row.location_ids),
                "predicates": json.loads(row.predicates),
                "target": target,
                "active": row.active,
                "signingSecrets": secrets,
                "createdAt": row.created_at,
            }
        )


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]


class CreatedSubscription(BaseModel):
    subscription: SubscriptionOut
    secret: str | None = Field(
        description="the Standard Webhooks signing secret (whsec_…), shown once; null for actions"
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str = Field(description="also the webhook-id header: the receiver's idempotency key")
    subscription_id: str = Field(alias="subscriptionId")
    event_id: str = Field(alias="eventId")
    event_type: str = Field(alias="eventType")
    status: DeliveryStatus
    attempts: int = Field(description="attempts of the current generation")
    generation: int = Field(description="1, plus one per replay")
    next_attempt_at: datetime | None = Field(alias="nextAttemptAt")
    last_status_code: int | None = Field(alias="lastStatusCode")
    last_error: str | None = Field(alias="lastError")
    delivered_at: datetime | None = Field(alias="deliveredAt")
    created_at: datetime = Field(alias="createdAt")
    log: list[dict[str, Any]] = Field(description="the last attempts: at, status, latencyMs, …")

    @classmethod
    def of(cls, row: Delivery) -> DeliveryOut:
        return cls.model_validate(
            {
                "id": row.id,
                "subscriptionId": row.subscription_id,
                "eventId": row.event_id,
                "eventType": row.event_type,
                "status": row.status,
                "attempts": row.attempts,
                "generation": row.generation,
                "nextAttemptAt": row.next_attempt_at,
                "lastStatusCode": row.last_status_code,
                "lastError": row.last_error,
                "deliveredAt": row.delivered_at,
                "createdAt": row.created_at,
                "log": json.loads(row.log or "[]"),
            }
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class Deleted(BaseModel):
    id: str
    deleted: bool = True


class RotatedSecret(BaseModel):
    subscription: SubscriptionOut
    secret: str = Field(description="the new secret, shown once; the old one signs 24 h more")


def _creator(caller: CallerDep) -> Creator:
    key = caller.key
    locations = key.location_list
    actions = key.action_list
    return Creator(
        key_id=key.id,
        scopes=tuple(key.scope_list),
        actions=None if actions is None else tuple(actions),
        locations=None if locations is None else tuple(locations),
    )


def _check_target(runtime: RuntimeDep, body: NewSubscription, creator: Creator) -> None:
    """A webhook exports events: ``read``. An action must exist and be one the creating key
    could run itself, wherever the subscription may fire (403 ``action_not_allowed``)."""
    if isinstance(body.target, WebhookTarget):
        if "read" not in creator.scopes:
            raise InsufficientScope(
                "a webhook subscription exports events: this API key lacks the 'read' scope",
                details={"required": "read", "granted": list(creator.scopes)},
            )
        return
    action = runtime.actions.registry.get(body.target.action)
    if action is None:
        raise InvalidInput(
            f"no action named {body.target.action!r}; GET /v1/actions lists them",
            details={"action": body.target.action},
        )
    policy = KeyPolicy.of(creator.scopes, creator.actions, creator.locations)
    for location in body.locations or creator.locations or [""]:
        if location or policy.locations is None:
            policy.check(action, location)


@router.get("/subscriptions", operation_id="subscriptions-list", response_model_by_alias=True)
async def list_subscriptions(runtime: RuntimeDep, tenant: ReaderDep) -> SubscriptionList:
    """The tenant's subscriptions, oldest first (secrets never shown)."""
    service = runtime.subscriptions
    rows = await service.repo.list(tenant.id)
    return SubscriptionList(
        subscriptions=[SubscriptionOut.of(r, service.secret_count(r)) for r in rows]
    )


@router.post(
    "/subscriptions",
    operation_id="subscriptions-create",
    status_code=201,
    response_model_by_alias=True,
    responses=errors.responses(400, 409),
)
async def create_subscription(
    body: NewSubscription, runtime: RuntimeDep, tenant: WriterDep, caller: CallerDep
) -> CreatedSubscription:
    """Create a routing rule. 422 for unknown event types or actions, malformed predicates or
    templates, and URLs that are not https or point at loopback/private/link-local addresses;
    409 past 500 subscriptions. The answer is the only time the signing secret is shown."""
    creator = _creator(caller)
    _check_target(runtime, body, creator)
    target = body.target
    spec = Spec(
        name=body.name,
        event_types=body.event_types,
        target_kind=target.kind,
        locations=body.locations,
        predicates=[p.model_dump() for p in body.predicates],
        url=target.url if isinstance(target, WebhookTarget) else None,
        action=target.action if isinstance(target, ActionTarget) else None,
        action_input=target.input if isinstance(target, ActionTarget) else {},
        active=body.active,
    )
    row, secret = await runtime.subscriptions.create(tenant.id, spec, creator)
    out = SubscriptionOut.of(row, 1 if secret else 0)
    return CreatedSubscription(subscription=out, secret=secret)


@router.get(
    "/subscriptions/{subscription_id}",
    operation_id="subscriptions-get",
    response_model_by_alias=True,
    responses=errors.responses(404),
)
async def get_subscription(
    subscription_id: ObjectId, runtime: RuntimeDep, tenant: ReaderDep
) -> SubscriptionOut:
    row = await runtime.subscriptions.get(tenant.id, subscription_id)
    return SubscriptionOut.of(row, runtime.subscriptions.secret_count(row))


@router.delete(
    "/subscriptions/{subscription_id}",
    operation_id="subscriptions-delete",
    response_model_by_alias=True,
    responses=errors.responses(404),
)
async def delete_subscription(
    subscription_id: ObjectId, runtime: RuntimeDep, tenant: WriterDep
) -> Deleted:
    """Delete the rule and its delivery records; pending deliveries are not attempted again."""
    await runtime.subscriptions.delete(tenant.id, subscription_id)
    return Deleted(id=subscription_id)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    operation_id="subscriptions-rotate-secret",
    response_model_by_alias=True,
    responses=errors.responses(404),
)
async def rotate_secret(
    subscription_id: ObjectId, runtime: RuntimeDep, tenant: WriterDep
) -> RotatedSecret:
    """A new signing secret (shown once). Deliveries are signed with the new and the previous
    secrets for 24 hours, so the receiver can switch without rejecting any."""
    row, secret = await runtime.subscriptions.rotate(tenant.id, subscription_id)
    out = SubscriptionOut.of(row, runtime.subscriptions.secret_count(row))
    return RotatedSecret(subscription=out, secret=secret)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    operation_id="subscriptions-deliveries",
    response_model_by_alias=True,
    responses=errors.responses(404),
)
async def list_deliveries(
    subscription_id: ObjectId,
    runtime: RuntimeDep,
    tenant: ReaderDep,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    """The subscription's deliveries, newest first, with their attempts."""
    rows = await runtime.subscriptions.list_deliveries(
        tenant.id, subscription_id, status=status, limit=limit
    )
    return DeliveryList(deliveries=[DeliveryOut.of(r) for r in rows])


@router.post(
    "/deliveries/{delivery_id}/replay",
    operation_id="deliveries-replay",
    status_code=202,
    response_model_by_alias=True,
    responses=errors.responses(404, 409),
)
async def replay_delivery(
    delivery_id: ObjectId, runtime: RuntimeDep, tenant: WriterDep
) -> DeliveryOut:
    """Send a delivered, failed or dead delivery again, with a fresh schedule (same webhook-id:
    a receiver that already has it can tell). 409 while it is still pending."""
    row = await runtime.subscriptions.replay(tenant.id, delivery_id)
    return DeliveryOut.of(row)
