"""Settings: read once from the environment (prefix GHL_BRIDGE_) in the entry points, passed down.

Nothing below the entry points reads the environment. ``ENV=prod`` refuses placeholder secrets
and missing keys instead of starting insecurely.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghl_bridge.client import facts
from ghl_bridge.client.resilience.limiter import parse_rate
from ghl_bridge.events.keys import GHL_ED25519_PUBLIC_KEY, GHL_RSA_PUBLIC_KEY
from ghl_bridge.events.schedule import parse_schedule

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.ghl-bridge/ghl-bridge.db"
# What the built-in actions need (tests/unit/test_default_scopes.py keeps it complete), plus
# oauth.* so an agency install can mint its sub-accounts' location tokens (/oauth/locationToken).
# Narrow it with GHL_BRIDGE_GHL_SCOPES; actions needing a scope not granted get GHL's 401.
DEFAULT_SCOPES = (
    "businesses.readonly businesses.write calendars.readonly calendars/events.readonly"
    " calendars/events.write campaigns.readonly contacts.readonly contacts.write"
    " conversations.readonly conversations/message.readonly conversations/message.write"
    " emails/builder.readonly emails/schedule.readonly forms.readonly"
    " funnels/redirect.readonly funnels/redirect.write links.readonly links.write"
    " locations.readonly locations.write locations/customFields.readonly"
    " locations/customFields.write locations/customValues.readonly"
    " locations/customValues.write locations/tags.readonly locations/tags.write"
    " locations/templates.readonly oauth.readonly oauth.write opportunities.readonly"
    " opportunities.write socialplanner/account.readonly socialplanner/post.readonly"
    " socialplanner/post.write surveys.readonly users.readonly workflows.readonly"
)
PLACEHOLDERS = frozenset({"", "changeme", "change-me", "placeholder", "secret", "xxx", "todo"})


class ConfigError(ValueError):
    """The configuration is unusable; the message says which variable and why."""


class Settings(BaseSettings):
    """Every knob the service has. Secrets are SecretStr: never printed, never logged."""

    model_config = SettingsConfigDict(env_prefix="GHL_BRIDGE_", extra="ignore", frozen=True)

    env: Literal["dev", "prod"] = "dev"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    # BullMQ's key prefix. A Node.js producer must use the same one; give each deployment (or
    # test run) sharing a Redis its own, or their workers take each other's jobs.
    queue_prefix: str = Field(default="bull", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    encryption_keys: SecretStr | None = None
    ghl_base_url: str = facts.BASE_URL
    ghl_auth_url: str = facts.AUTH_URL
    ghl_client_id: str | None = None
    ghl_client_secret: SecretStr | None = None
    ghl_redirect_uri: str = "http://127.0.0.1:8000/oauth/callback"
    ghl_scopes: str = DEFAULT_SCOPES
    # GHL's burst budget per app and resource. Sandbox agencies get 25/10s; the simulator's
    # `--rate-limit` sets its own, and this must not exceed what GHL really grants.
    ghl_rate_limit: str = f"{facts.BURST_MAX}/{facts.BURST_WINDOW_MS // 1000}s"
    webhook_ed25519_keys: str = GHL_ED25519_PUBLIC_KEY
    webhook_rsa_keys: str = GHL_RSA_PUBLIC_KEY
    webhook_ip_allowlist: str = ""
    # Processing a webhook event: tries in all, and the first wait (doubling after each failed
    # try; 10 and 2 s retry for about 17 minutes). Then the event is dead-lettered for a replay.
    webhook_attempts: int = 10
    webhook_backoff_s: float = 2.0
    # Webhook events in hand at once per worker process. The in-process queue claims up to
    # that many in one transaction and the event processor handles a claimed batch with one
    # load and one mark for all of it, so a larger batch costs little more than a small one:
    # at 4 the embedded worker managed ~130 events/s, at 256 it keeps up with ~650/s ingest
    # on SQLite (docs/benchmarks.md). Each event in hand holds a job lease, nothing more.
    event_worker_concurrency: int = Field(default=256, ge=1, le=4096)
    trusted_proxies: str = ""
    admin_token: SecretStr | None = None
    # Outbound webhooks (subscriptions): loopback/private targets and plain http are refused
    # unless this is on (development, tests); the waits between failed attempts; the timeout.
    outbound_allow_private: bool = False
    outbound_retry_schedule: str = "5s,5m,30m,2h,5h,10h"
    outbound_timeout_s: float = 15.0
    # A subscription that fires more than this many times on one record (contact) within the
    # window is held for a window: a rule re-triggering itself (events/loop_guard.py).
    subscription_loop_limit: int = Field(default=10, ge=1, le=10_000)
    subscription_loop_window_s: float = Field(default=300.0, gt=0, le=86_400)
    # Reconciliation: how often each connected location's contacts and opportunities are
    # searched for changes whose webhook never came (0: never); how far each search reaches
    # back before the last checkpoint (GHL's search index lags); how old a change must be
    # before a missing webhook counts as lost rather than still on its way.
    reconcile_interval_s: float = 900.0
    reconcile_overlap_s: float = 300.0
    reconcile_settle_s: float = 60.0
    # Retention (retention.py), in days; 0 keeps that kind for good. A handled webhook event
    # (processed, every delivery delivered); an audit record (GHL call attempt, connection
    # change).
    event_retention_days: float = Field(default=30.0, ge=0, le=36_500)
    audit_retention_days: float = Field(default=90.0, ge=0, le=36_500)

    @field_validator("reconcile_interval_s", "reconcile_overlap_s", "reconcile_settle_s")
    @classmethod
    def _check_reconcile(cls, value: float, info: ValidationInfo) -> float:
        if value < 0:
            raise ValueError(f"{info.field_name} must be >= 0")
        return value

    @field_validator("outbound_retry_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("webhook_attempts", "webhook_backoff_s")
    @classmethod
    def _check_retry(cls, value: float, info: ValidationInfo) -> float:
        if value < (1 if info.field_name == "webhook_attempts" else 0):
            raise ValueError("webhook_attempts must be >= 1 and webhook_backoff_s >= 0")
        return value

    def webhook_retry(self) -> tuple[int, float]:
        """(attempts, first backoff in seconds) for processing a webhook event."""
        return self.webhook_attempts, self.webhook_backoff_s

    @field_validator("ghl_rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @model_validator(mode="after")
    def _refuse_insecure_prod(self) -> Settings:
        if self.env != "prod":
            return self
        problems = []
        if self.encryption_keys is None or _placeholder(self.encryption_keys):
            problems.append("GHL_BRIDGE_ENCRYPTION_KEYS is missing or a placeholder")
        if self.ghl_client_secret is not None and _placeholder(self.ghl_client_secret):
            problems.append("GHL_BRIDGE_GHL_CLIENT_SECRET is a placeholder")
        if self.admin_token is None or _placeholder(self.admin_token):
            problems.append("GHL_BRIDGE_ADMIN_TOKEN is missing or a placeholder")
        if not self.webhook_ed25519_keys.strip() and not self.webhook_rsa_keys.strip():
            problems.append("no webhook verification keys configured")
        if problems:
            raise ConfigError("refusing to start with ENV=prod: " + "; ".join(problems))
        return self

    @property
    def queue_kind(self) -> Literal["inprocess", "bullmq"]:
        return "bullmq" if self.redis_url else "inprocess"

    def rate_limit(self) -> tuple[int, int]:
        """(max requests, window in ms) for the client's per-resource limiter."""
        return parse_rate(self.ghl_rate_limit)

    def scopes(self) -> list[str]:
        return self.ghl_scopes.split()


def _placeholder(secret: SecretStr) -> bool:
    return secret.get_secret_value().strip().lower() in PLACEHOLDERS
