"""/v1/subscriptions and /v1/deliveries: a tenant's routing rules and what became of each event.

A subscription sends matching events to a webhook (Standard Webhooks signed; the secret is
shown once, on creation and on rotation) or runs an action with an input filled from the event.
Reads need ``read``; creating, changing, deleting, rotating and replaying need ``write``. An
action target must be one the creating key could run itself (its scopes and allowlists are
stored with the subscription and bound every run); a webhook target exports event data, so it
also needs ``read``. A change to what a subscription matches must leave one the changing key
could have created; its target never changes. Another tenant's subscription or delivery id
answers 404, like one that never was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

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
from ghl_bridge.events.subscriptions import Changes, Creator, Spec
from ghl_bridge.store.models import Delivery, Subscription

router = APIRouter(prefix="/v1", tags=["subscriptions"])

LocationId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LOCATION_ID)]
TypePattern = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.*?]+$")]
Op = Literal["eq", "ne", "in", "contains", "exists", "gt", "lt"]
DeliveryStatus = Literal["pending", "delivered", "failed", "dead"]
ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
EventTypes = Annotated[list[TypePattern], Field(min_length=1, max_length=100)]
Locations = Annotated[list[LocationId], Field(min_length=1, max_length=200)]
# Fields of the target: a PATCH naming one is told to create a new subscription instead.
TARGET_FIELDS = ("target", "url", "action", "input")


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


Predicates = Annotated[list[PredicateIn], Field(max_length=20)]


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: Name
    event_types: EventTypes = Field(
        alias="eventTypes",
        description="event types or patterns (Contact*, *); GET /v1/triggers lists them",
    )
    locations: Locations | None = Field(default=None, description="only these; omit for all")
    predicates: Predicates = Field(default_factory=list, description="all must hold")
    target: Target
    active: bool = True


def _not_nullable(schema: dict[str, Any]) -> None:
    """Document an optional field as its type alone: it may be left out, but not null."""
    for branch in schema.pop("anyOf", []):
        if branch.get("type") != "null":
            schema.update(branch)


class SubscriptionPatch(BaseModel):
    """What to change; what is left out stays as it is. The target cannot change."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"minProperties": 1}
    )
    # None is "left out": all but ``locations`` refuse an explicit null (`_not_null`), and
    # their documented schema says so (`_not_nullable`).
    name: Name | None = Field(default=None, json_schema_extra=_not_nullable)
    active: bool | None = Field(
        default=None,
        description="false pauses it (no event is routed to it), true resumes",
        json_schema_extra=_not_nullable,
    )
    event_types: EventTypes | None = Field(
        default=None,
        alias="eventTypes",
        description="event types or patterns (Contact*, *); GET /v1/triggers lists them",
        json_schema_extra=_not_nullable,
    )
    locations: Locations | None = Field(
        default=None,
        description="only these; null for every location the subscription's creator may reach",
    )
    predicates: Predicates | None = Field(
        default=None, description="all must hold; [] for none", json_schema_extra=_not_nullable
    )

    @model_validator(mode="before")
    @classmethod
    def _target_is_fixed(cls, data: Any) -> Any:
        named = [f for f in TARGET_FIELDS if isinstance(data, dict) and f in data]
        if named:
            raise ValueError(
                f"{', '.join(named)}: the target cannot be changed; create a new subscription"
                " instead (a new URL needs a new signing secret and address check, a new"
                " action a new permission check)"
            )
        return data

    @field_validator("name", "active", "event_types", "predicates", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null; leave it out to keep it as it is")
        return value

    @model_validator(mode="after")
    def _something(self) -> SubscriptionPatch:
        if not self.model_fields_set:
            raise ValueError(
                "nothing to change: give name, active, eventTypes, locations or predicates"
            )
        return self


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


def _check_target(
    runtime: RuntimeDep, action_name: str | None, locations: Sequence[str] | None, key: Creator
) -> None:
    """Whether ``key`` may make a subscription with this target (``action_name``, or None for
    a webhook) at these locations (None: all). A webhook exports events: ``read``. An action
    must exist and be one the key could run itself, wherever the subscription may fire (403
    ``action_not_allowed``)."""
    if action_name is None:
        if "read" not in key.scopes:
            raise InsufficientScope(
                "a webhook subscription exports events: this API key lacks the 'read' scope",
                details={"required": "read", "granted": list(key.scopes)},
            )
        return
    action = runtime.actions.registry.get(action_name)
    if action is None:
        raise InvalidInput(
            f"no action named {action_name!r}; GET /v1/actions lists them",
            details={"action": action_name},
        )
    policy = KeyPolicy.of(key.scopes, key.actions, key.locations)
    for location in locations or key.locations or [""]:
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
    target = body.target
    action = target.action if isinstance(target, ActionTarget) else None
    _check_target(runtime, action, body.locations, creator)
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


@router.patch(
    "/subscriptions/{subscription_id}",
    operation_id="subscriptions-update",
    response_model_by_alias=True,
    responses=errors.responses(400, 404),
)
async def update_subscription(
    subscription_id: ObjectId,
    body: SubscriptionPatch,
    runtime: RuntimeDep,
    tenant: WriterDep,
    caller: CallerDep,
) -> SubscriptionOut:
    """Rename it, pause it (``active: false``: events arriving from then on are not routed to
    it; its deliveries so far are kept) or resume it, or change what it matches. Validated as
    on creation (422); a change to what it matches must leave a subscription this API key
    could create (403). The target cannot change (422): create a new subscription for that.
    The same change twice answers the same."""
    key = _creator(caller)
    changes = Changes(
        name=body.name,
        active=body.active,
        event_types=body.event_types,
        predicates=None if body.predicates is None else [p.model_dump() for p in body.predicates],
        relocate="locations" in body.model_fields_set,
        locations=body.locations,
    )

    def authorize(row: Subscription, locations: Sequence[str] | None) -> None:
        _check_target(runtime, row.action if row.target_kind == "action" else None, locations, key)

    service = runtime.subscriptions
    row = await service.update(tenant.id, subscription_id, changes, key, authorize)
    return SubscriptionOut.of(row, service.secret_count(row))


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
