"""The composition root: builds every part of the running service from Settings, once.

``serve``, ``worker``, ``demo``, the CLI and the tests all start the service through
``Runtime.start`` so there is one wiring, not four. Nothing here holds business logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ghl_bridge.actions import ActionService, default_registry
from ghl_bridge.actions.jobs import action_job_handler
from ghl_bridge.actions.support import ActionSupport
from ghl_bridge.actions.triggers import TriggerRunner
from ghl_bridge.client import ClientOptions, GHLClient
from ghl_bridge.config import ConfigError, Settings
from ghl_bridge.events.loop_guard import Guard, LoopGuard, RedisLoopGuard
from ghl_bridge.events.outbound import DeliverySweeper, OutboundDeliverer
from ghl_bridge.events.processor import EventProcessor
from ghl_bridge.events.receiver import WebhookReceiver, parse_networks
from ghl_bridge.events.reconcile import Reconciler
from ghl_bridge.events.routing import RoutingSink
from ghl_bridge.events.schedule import parse_schedule
from ghl_bridge.events.subscriptions import SubscriptionService
from ghl_bridge.events.sweeper import InboxSweeper
from ghl_bridge.events.verify import WebhookKeys
from ghl_bridge.jobs import make_queue, make_worker
from ghl_bridge.jobs.names import (
    ACTION_JOB,
    ACTIONS_QUEUE,
    EVENTS_QUEUE,
    OUTBOUND_DELIVERY_JOB,
    WEBHOOK_PROCESS_JOB,
)
from ghl_bridge.jobs.port import Handler, Queue, RetryPolicy, WorkerRunner
from ghl_bridge.oauth.app import OAuthApp
from ghl_bridge.oauth.connections import ConnectionService
from ghl_bridge.oauth.refresh_lock import RefreshLock, make_refresh_lock
from ghl_bridge.oauth.refresher import ProactiveRefresher
from ghl_bridge.oauth.state import StateSigner, derive_secret
from ghl_bridge.oauth.tokens import ConnectionTokens
from ghl_bridge.retention import RetentionSweeper, Rule
from ghl_bridge.store.action_records import ActionRecordRepo
from ghl_bridge.store.audit import AuditRepo, AuditWriter
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_read_engine, make_sessionmaker
from ghl_bridge.store.deliveries import DeliveryRepo
from ghl_bridge.store.idempotency import IdempotencyRepo
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.inbox_writer import InboxWriter
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.reconcile import ReconcileRepo
from ghl_bridge.store.subscriptions import SubscriptionRepo
from ghl_bridge.store.tenants import TenantRepo
from ghl_bridge.vault import KeyRing, Vault

log = structlog.get_logger("ghl_bridge.runtime")

DATA_DIR = Path(".ghl-bridge")
KEY_FILE = "encryption-keys"


def resolve_keyring(settings: Settings, data_dir: Path = DATA_DIR) -> KeyRing:
    """The encryption key ring: from settings, else (dev only) a key file we create once."""
    if settings.encryption_keys is not None:
        return KeyRing.parse(settings.encryption_keys.get_secret_value())
    if settings.env == "prod":
        raise ConfigError("GHL_BRIDGE_ENCRYPTION_KEYS is required when ENV=prod")
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(KeyRing.generate() + "\n")
        log.warning("vault.generated_dev_key", path=str(path))
    return KeyRing.parse(path.read_text().strip())


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    tenants: TenantRepo
    connections: ConnectionRepo
    inbox: InboxRepo
    ghl: GHLClient
    tokens: ConnectionTokens
    oauth: ConnectionService | None
    actions: ActionService
    events_queue: Queue
    actions_queue: Queue
    receiver: WebhookReceiver
    processor: EventProcessor
    refresh_lock: RefreshLock
    audit: AuditWriter
    audit_log: AuditRepo
    subscriptions: SubscriptionService
    outbound: OutboundDeliverer = field(init=False)  # needs `actions`: set in `start`
    workers: list[WorkerRunner] = field(default_factory=list)
    read_engine: AsyncEngine | None = None  # SQLite's reader connection (store.db)
    loop_guard: Guard | None = None  # the routing sink's, closed with the runtime
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    async def start(
        cls, settings: Settings, *, with_worker: bool = True, data_dir: Path = DATA_DIR
    ) -> Runtime:
        """Migrate the database, build every part, and start workers if asked."""
        await upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        read_engine = make_read_engine(settings.database_url)  # SQLite only: see its docstring
        reads = make_sessionmaker(read_engine) if read_engine is not None else sessions
        keyring = resolve_keyring(settings, data_dir)
        vault = Vault(keyring)
        connections = ConnectionRepo(sessions)
        inbox = InboxRepo(sessions)
        audit_log = AuditRepo(sessions)
        audit = AuditWriter(audit_log)
        audit.start()
        app = _oauth_app(settings)
        refresh_lock = make_refresh_lock(redis_url=settings.redis_url, engine=engine)
        tokens = ConnectionTokens(
            app or _unconfigured_app(settings),
            connections,
            vault,
            refresh_lock=refresh_lock,
            inbox=inbox,
            audit=audit,
        )
        burst_max, burst_window_ms = settings.rate_limit()
        options = ClientOptions(
            base_url=settings.ghl_base_url,
            burst_max=burst_max,
            burst_window_ms=burst_window_ms,
            redis_url=settings.redis_url,  # every serve/worker process shares one budget
            app_id=settings.ghl_client_id or "app",
        )
        ghl = GHLClient(tokens=tokens, options=options, observer=audit.observe)
        tokens.bind(ghl.oauth)
        await ghl.pipeline.open()
        signer = StateSigner(derive_secret(keyring.key(keyring.active_kid), "oauth-state"))
        events_queue = make_queue(
            settings.queue_kind,
            queue_name=EVENTS_QUEUE,
            sessionmaker=sessions,
            redis_url=settings.redis_url,
            prefix=settings.queue_prefix,
            database_url=settings.database_url,
            # Every producer of webhook.process (receiver, sweeper, replay) retries it alike.
            policies={WEBHOOK_PROCESS_JOB: RetryPolicy(*settings.webhook_retry())},
        )
        actions_queue = make_queue(
            settings.queue_kind,
            queue_name=ACTIONS_QUEUE,
            sessionmaker=sessions,
            redis_url=settings.redis_url,
            prefix=settings.queue_prefix,
            database_url=settings.database_url,
        )
        keys = WebhookKeys.parse(settings.webhook_ed25519_keys, settings.webhook_rsa_keys)
        subscriptions = SubscriptionService(
            SubscriptionRepo(sessions),
            DeliveryRepo(sessions),
            vault,
            actions_queue,
            allow_private=settings.outbound_allow_private,
        )
        guard = _loop_guard(settings)
        routing = RoutingSink(
            SubscriptionRepo(reads), subscriptions.deliveries, actions_queue, guard=guard
        )
        runtime = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            vault=vault,
            tenants=TenantRepo(sessions),
            connections=connections,
            inbox=inbox,
            ghl=ghl,
            tokens=tokens,
            oauth=ConnectionService(app, signer, ghl.oauth, tokens, IdempotencyRepo(sessions))
            if app
            else None,
            actions=ActionService(
                default_registry(),
                connections,
                ghl,
                IdempotencyRepo(sessions),
                adopter=tokens,
                support=ActionSupport(ActionRecordRepo(sessions), audit_log, connections),
            ),
            events_queue=events_queue,
            actions_queue=actions_queue,
            receiver=WebhookReceiver(
                keys,
                InboxWriter(sessions),
                events_queue,
                allowlist=parse_networks(settings.webhook_ip_allowlist),
                trusted_proxies=parse_networks(settings.trusted_proxies),
            ),
            processor=EventProcessor(
                inbox,
                connections,
                audit=audit,
                adopter=tokens,
                sinks=[routing],
                loads=InboxRepo(reads),
            ),
            read_engine=read_engine,
            loop_guard=guard,
            refresh_lock=refresh_lock,
            audit=audit,
            audit_log=audit_log,
            subscriptions=subscriptions,
        )
        runtime.outbound = OutboundDeliverer(
            subscriptions.deliveries,
            subscriptions,
            inbox,
            runner=TriggerRunner(runtime.actions),
            schedule=parse_schedule(settings.outbound_retry_schedule),
            timeout_s=settings.outbound_timeout_s,
        )
        if with_worker:
            runtime.start_workers()
        return runtime

    def start_workers(self) -> None:
        """Run the event and action workers, the sweepers, reconciliation and event retention
        as tasks of this process."""
        handlers: dict[str, dict[str, Handler]] = {
            EVENTS_QUEUE: {WEBHOOK_PROCESS_JOB: self.processor},
            ACTIONS_QUEUE: {
                ACTION_JOB: action_job_handler(self.actions),
                OUTBOUND_DELIVERY_JOB: self.outbound,
            },
        }
        for queue_name, table in handlers.items():
            queue = self.events_queue if queue_name == EVENTS_QUEUE else self.actions_queue
            worker = make_worker(
                self.settings.queue_kind,
                queue_name=queue_name,
                handlers=table,
                queue=queue,
                sessionmaker=self.sessions,
                redis_url=self.settings.redis_url,
                prefix=self.settings.queue_prefix,
                concurrency=(
                    self.settings.event_worker_concurrency if queue_name == EVENTS_QUEUE else None
                ),
            )
            self.workers.append(worker)
            self._tasks.append(asyncio.create_task(worker.run(), name=f"worker:{queue_name}"))
        sweeper = InboxSweeper(self.inbox, self.events_queue)
        self._tasks.append(asyncio.create_task(sweeper.run(), name="inbox-sweeper"))
        refresher = ProactiveRefresher(self.connections, self.tokens)
        outbound = DeliverySweeper(self.subscriptions.deliveries, self.actions_queue)
        self._tasks.append(asyncio.create_task(outbound.run(), name="delivery-sweeper"))
        self._tasks.append(asyncio.create_task(refresher.run(), name="token-refresher"))
        if self.settings.reconcile_interval_s > 0:
            self._tasks.append(asyncio.create_task(self.reconciler().run(), name="reconciler"))
        retention = RetentionSweeper(self.retention_rules())
        self._tasks.append(asyncio.create_task(retention.run(), name="retention"))

    def retention_rules(self) -> list[Rule]:
        """What this deployment deletes once old (retention.py); expired idempotency
        records always, events and audit records unless their retention is 0."""
        settings = self.settings
        rules = [Rule("idempotency", IdempotencyRepo(self.sessions).prune_expired)]
        if (days := settings.event_retention_days) > 0:
            rules.append(Rule.older_than("events", days, self.inbox.prune_settled))
        if (days := settings.audit_retention_days) > 0:
            rules.append(Rule.older_than("audit", days, self.audit_log.prune))
        return rules

    def reconciler(self) -> Reconciler:
        """Reconciliation (events/reconcile.py) over this runtime's client, inbox and queue."""
        settings = self.settings
        return Reconciler(
            self.ghl,
            self.connections,
            self.inbox,
            ReconcileRepo(self.sessions),
            self.events_queue,
            interval_s=settings.reconcile_interval_s or 900.0,
            overlap_s=settings.reconcile_overlap_s,
            settle_s=settings.reconcile_settle_s,
        )

    async def ready(self) -> dict[str, str]:
        """Dependency checks for /readyz: the database, and Redis when configured."""
        checks: dict[str, str] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        if self.settings.redis_url:
            checks["redis"] = await _redis_ping(self.settings.redis_url)
        return checks

    async def close(self) -> None:
        for worker in self.workers:
            await worker.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.events_queue.close()
        await self.actions_queue.close()
        await self.ghl.aclose()
        await self.outbound.aclose()
        await self.refresh_lock.aclose()
        if self.loop_guard is not None:
            await self.loop_guard.aclose()
        await self.audit.aclose()  # after the client: its last calls are audited too
        self.receiver.signatures.close()
        if self.read_engine is not None:
            await self.read_engine.dispose()
        await self.engine.dispose()


def _loop_guard(settings: Settings) -> Guard:
    """Trigger-loop counts in Redis when there is one (every worker process counts into the
    same window), else in this process (events/loop_guard.py)."""
    limit, window_s = settings.subscription_loop_limit, settings.subscription_loop_window_s
    if settings.redis_url:
        return RedisLoopGuard.from_url(
            settings.redis_url,
            prefix=f"{settings.queue_prefix}:ghl-bridge",
            limit=limit,
            window_s=window_s,
        )
    return LoopGuard(limit=limit, window_s=window_s)


def _oauth_app(settings: Settings) -> OAuthApp | None:
    if not settings.ghl_client_id or settings.ghl_client_secret is None:
        return None
    return OAuthApp(
        client_id=settings.ghl_client_id,
        client_secret=settings.ghl_client_secret.get_secret_value(),
        redirect_uri=settings.ghl_redirect_uri,
        scopes=tuple(settings.scopes()),
        auth_url=settings.ghl_auth_url,
    )


def _unconfigured_app(settings: Settings) -> OAuthApp:
    # Private-integration-only deployments have no OAuth app; refreshing then fails clearly.
    return OAuthApp("", "", settings.ghl_redirect_uri, (), settings.ghl_auth_url)


async def _redis_ping(url: str) -> str:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_timeout=2)
    try:
        await client.ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    finally:
        await client.aclose()
