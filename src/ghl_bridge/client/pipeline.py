"""The one outbound request pipeline: build → auth → [limit → circuit → send → classify]* → decode.

Every call the service makes to GHL goes through ``Pipeline.call``. Resources only say *which*
operation and with what data; method, path and Version come from the spec catalogue. Every
attempt, including the replay after a 401 refresh and each retry, passes the rate limiter again.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import stamina
import structlog
from multidict import CIMultiDict

from ghl_bridge.client import facts
from ghl_bridge.client.auth import TokenProvider
from ghl_bridge.client.errors import (
    CircuitOpenError,
    ConnectError,
    DryRunIntercepted,
    GHLAPIError,
    GHLError,
    InvalidGrantError,
    RateLimitedError,
    RequestTimeout,
    error_class_for,
)
from ghl_bridge.client.metrics import ClientMetrics, metrics_for
from ghl_bridge.client.options import ClientOptions, DryRunMode, RequestOptions, dry_run_mode
from ghl_bridge.client.resilience.board import parse_int
from ghl_bridge.client.resilience.circuit import CircuitBreakers
from ghl_bridge.client.resilience.gate import Lane
from ghl_bridge.client.resilience.limiter import BudgetLimiter, RateLimiter
from ghl_bridge.client.resilience.retry import (
    idempotent_by_default,
    reads_only,
    retry_after_s,
    should_retry,
)

log = structlog.get_logger("ghl_bridge.client")

_BUDGETS_KEPT = 10_000  # last-seen budgets kept per process (one per location in use)


class OperationSpec(Protocol):
    """What the pipeline needs to know of a catalogue operation."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def version(self) -> str | None: ...


class Operations(Protocol):
    def operation(self, operation_id: str) -> OperationSpec: ...


@dataclass(frozen=True, slots=True)
class Call:
    """One GHL operation to perform.

    resource_id: the location (or company) the call acts for. It picks the token, the
    rate-limit budget and the circuit. ``idempotent`` defaults from the operation: its HTTP
    method, or a POST that only reads or upserts (``retry.idempotent_by_default``).
    """

    operation: str
    resource_id: str | None = None
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, Any] | None = None
    json: Any = None
    form: Mapping[str, str] | None = None
    authenticated: bool = True
    idempotent: bool | None = None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    data: Any
    headers: Mapping[str, str]
    request_id: str


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What an observer learns of one HTTP exchange with GHL: never the token, never a body.

    status: the HTTP status as text, or ``timeout`` / ``connect_error`` when no answer came.
    attempt: 1 for the first try, counting retries; a replay after a 401 refresh is a second
    exchange within the same attempt and carries its number.
    latency_ms: the exchange alone (rate-limit waits and backoff are not in it).
    trace_id: GHL's ``traceId`` from the answer, when it had one.
    """

    operation: str
    method: str
    resource_id: str | None
    status: str
    attempt: int
    latency_ms: float
    request_id: str
    trace_id: str | None = None


# Called synchronously, on the event loop, once per exchange: it must be quick and must not
# block (an audit writer buffers the record and writes it later).
AttemptObserver = Callable[[AttemptRecord], None]


@dataclass(slots=True)
class _Prepared:
    call: Call
    method: str
    url: str
    headers: dict[str, str]
    timeout: aiohttp.ClientTimeout
    request_id: str
    lane: Lane
    budget_key: str
    host: str
    idempotent: bool


class Pipeline:
    """Owns the aiohttp session, the limiter and the breakers for one process."""

    def __init__(
        self,
        options: ClientOptions,
        tokens: TokenProvider,
        operations: Operations,
        *,
        limiter: RateLimiter | None = None,
        breakers: CircuitBreakers | None = None,
        metrics: ClientMetrics | None = None,
        observer: AttemptObserver | None = None,
    ) -> None:
        self.options = options
        self._observer = observer
        self._tokens = tokens
        self._operations = operations
        self._limiter = limiter or BudgetLimiter(
            options.burst_max, options.burst_window_ms, redis_url=options.redis_url
        )
        self._metrics = metrics or metrics_for()
        self._breakers = breakers or CircuitBreakers(
            options.circuit_threshold, options.circuit_ttl_s, self._metrics.circuit_state
        )
        self._session: aiohttp.ClientSession | None = None
        # Built once: every request's headers start from these, most use the default timeout.
        self._base_headers = {
            "Accept": "application/json",
            "User-Agent": options.user_agent,
            **dict(options.extra_headers),
        }
        self._default_timeout = self._timeout(options.timeout_s)
        self._last_budget: dict[str, dict[str, float | int]] = {}
        self._base_url = options.base_url.rstrip("/")
        self._host = self._base_url.split("://", 1)[-1]

    def _timeout(self, total_s: float) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=total_s, sock_connect=self.options.connect_timeout_s)

    async def open(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.options.connection_limit)
            self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._limiter.aclose()

    async def call(self, call: Call, options: RequestOptions | None = None) -> Response:
        """Perform ``call`` with retries; return the decoded 2xx response or raise a GHLError."""
        opts = options or RequestOptions()
        prepared = self._prepare(call, opts)
        mode = dry_run_mode()
        if mode is not None:
            self._intercept(prepared, mode)
        idempotent = call.idempotent
        if idempotent is None:
            idempotent = prepared.idempotent or opts.idempotency_key is not None
        # Wall-clock, like the limiter: its shared (Redis) state is compared across processes.
        deadline = time.time() + self.options.deadline_s

        def hook(exc: Exception) -> bool | float:
            decision = isinstance(exc, GHLError) and should_retry(exc, idempotent=bool(idempotent))
            if decision is not False:
                self._metrics.retries.labels(prepared.budget_key, type(exc).__name__).inc()
            return decision

        # The first attempt runs outside stamina: building a retry context costs ~50 µs, more
        # than everything else we add to a call, and most calls never need it.
        try:
            return await self._attempt(prepared, deadline, 1)
        except GHLError as exc:
            decision = hook(exc)
            attempts = opts.max_attempts or self.options.max_attempts
            if decision is False or attempts <= 1:
                raise
            await _first_backoff(decision)
        async for attempt in stamina.retry_context(
            on=hook,
            attempts=attempts - 1,
            timeout=max(0.0, deadline - time.time()),
            wait_initial=0.5,
            wait_max=8.0,
        ):
            with attempt:
                return await self._attempt(prepared, deadline, attempt.num + 1)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _intercept(self, req: _Prepared, mode: DryRunMode) -> None:
        """In a dry run, stop before a request that would change something (or any request)."""
        spec = self._operations.operation(req.call.operation)
        if mode == "all" or not reads_only(req.method, spec.path):
            raise DryRunIntercepted(
                req.call.operation,
                req.method,
                req.url.removeprefix(self._base_url),
                req.call.query,
                req.call.json if req.call.form is None else "<form fields>",
                req.headers[facts.HEADER_VERSION],
            )

    def budget(self, resource_id: str) -> dict[str, float | int] | None:
        """What GHL's headers last said of ``resource_id``'s budget, as this process saw it."""
        return self._last_budget.get(f"{self.options.app_id}:{resource_id}")

    def _prepare(self, call: Call, opts: RequestOptions) -> _Prepared:
        spec = self._operations.operation(call.operation)
        path = spec.path
        for name, value in call.path_params.items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        request_id = secrets.token_hex(16)
        headers = {
            facts.HEADER_VERSION: opts.version or spec.version or facts.DEFAULT_VERSION,
            facts.HEADER_REQUEST_ID: request_id,
            **self._base_headers,
        }
        if opts.idempotency_key:
            headers[facts.HEADER_IDEMPOTENCY_KEY] = opts.idempotency_key
        timeout = self._timeout(opts.timeout_s) if opts.timeout_s else self._default_timeout
        budget_key = f"{self.options.app_id}:{call.resource_id or 'app'}"
        method = spec.method.upper()
        return _Prepared(
            call,
            method,
            self._base_url + path,
            headers,
            timeout,
            request_id,
            opts.lane,
            budget_key,
            self._host,
            idempotent_by_default(method, spec.path),
        )

    async def _attempt(self, req: _Prepared, deadline: float, attempt: int) -> Response:
        call = req.call
        token = await self._tokens.access_token(call.resource_id) if call.authenticated else None
        status, headers, data = await self._guarded_send(req, token, deadline, attempt)
        if status == 401 and token is not None:
            fresh = await self._tokens.on_unauthorized(call.resource_id, token)
            if fresh is not None:
                status, headers, data = await self._guarded_send(req, fresh, deadline, attempt)
        if 200 <= status < 300:
            return Response(status, data, headers, req.request_id)
        raise self._error(req, status, headers, data)

    async def _guarded_send(
        self, req: _Prepared, token: str | None, deadline: float, attempt: int
    ) -> tuple[int, Mapping[str, str], Any]:
        key = req.budget_key
        slot = await self._limiter.acquire(key, deadline=deadline, lane=req.lane)
        try:
            async with (
                self._breakers.guard(f"host:{req.host}", self.options.host_circuit_threshold),
                self._breakers.guard(f"resource:{key}"),
            ):
                status, headers, data = await self._send(req, token, attempt)
                if status >= 500:
                    raise self._error(req, status, headers, data)
        except CircuitOpenError as exc:
            self._metrics.circuit_rejections.labels(exc.circuit).inc()
            raise
        finally:
            # GHL counted this attempt, if at all, before its answer (or failure) reached us.
            await self._limiter.settle(slot)
        await self._limiter.observe(key, headers, slot)
        self._note_budget(key, headers)
        if status == 429:
            self._metrics.rate_limited.labels(key).inc()
            wait = retry_after_s(headers) or self.options.burst_window_ms / 1000
            await self._limiter.pause(key, wait)
        return status, headers, data

    def _note_budget(self, key: str, headers: Mapping[str, str]) -> None:
        daily = parse_int(headers.get(facts.HEADER_RL_DAILY_REMAINING))
        burst = parse_int(headers.get(facts.HEADER_RL_REMAINING))
        if daily is None and burst is None:
            return
        seen: dict[str, float | int] = {"seenAt": time.time()}
        if daily is not None:
            seen["dailyRemaining"] = daily
            daily_max = parse_int(headers.get(facts.HEADER_RL_DAILY_LIMIT))
            if daily_max is not None:
                seen["dailyLimit"] = daily_max
        if burst is not None:
            seen["burstRemaining"] = burst
        if len(self._last_budget) >= _BUDGETS_KEPT and key not in self._last_budget:
            self._last_budget.pop(next(iter(self._last_budget)))
        self._last_budget[key] = seen

    async def _send(
        self, req: _Prepared, token: str | None, attempt: int
    ) -> tuple[int, Mapping[str, str], Any]:
        if self._session is None:
            await self.open()
        assert self._session is not None
        headers = dict(req.headers)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        call = req.call
        try:
            async with self._session.request(
                req.method,
                req.url,
                params=_query(call.query),
                json=call.json if call.form is None else None,
                data=dict(call.form) if call.form is not None else None,
                headers=headers,
                timeout=req.timeout,
            ) as resp:
                raw = await resp.read()
                # Keep header lookups case-insensitive: GHL sends them lower-case.
                status, resp_headers = resp.status, CIMultiDict(resp.headers)
        except TimeoutError as exc:
            self._log(req, "timeout", started, attempt)
            raise RequestTimeout(f"{call.operation}: no response within the timeout") from exc
        except aiohttp.ClientError as exc:
            self._log(req, "connect_error", started, attempt, error=type(exc).__name__)
            raise ConnectError(f"{call.operation}: {type(exc).__name__}") from exc
        self._log(req, str(status), started, attempt, trace_id=_trace_id(raw))
        self._record_budget(req.budget_key, resp_headers)
        return status, resp_headers, _decode(raw)

    def _record_budget(self, key: str, headers: Mapping[str, str]) -> None:
        windows = (("burst", facts.HEADER_RL_REMAINING), ("daily", facts.HEADER_RL_DAILY_REMAINING))
        for window, name in windows:
            value = headers.get(name)
            if value is not None and value.isdigit():
                self._metrics.budget_seen(key, window, int(value))

    def _error(
        self, req: _Prepared, status: int, headers: Mapping[str, str], data: Any
    ) -> GHLAPIError:
        body = data if isinstance(data, dict) else {}
        message = _message(body, status)
        kwargs: dict[str, Any] = {
            "status": status,
            "operation": req.call.operation,
            "trace_id": body.get("traceId"),
            "request_id": req.request_id,
            "body": body,
        }
        if status == 429:
            return RateLimitedError(message, retry_after=retry_after_s(headers), **kwargs)
        if status == 400 and body.get("error") == "invalid_grant":
            return InvalidGrantError(message, **kwargs)
        return error_class_for(status)(message, **kwargs)

    def _log(self, req: _Prepared, status: str, started: float, attempt: int, **extra: Any) -> None:
        # Audit line and metrics: never the token, never the body (it carries PII).
        elapsed = time.perf_counter() - started
        latency_ms = round(elapsed * 1000, 1)
        operation = req.call.operation
        self._metrics.request_done(req.budget_key, operation, status, elapsed)
        log.info(
            "ghl.call",
            operation=operation,
            method=req.method,
            resource=req.call.resource_id,
            status=status,
            attempt=attempt,
            lane=str(req.lane),
            latency_ms=latency_ms,
            request_id=req.request_id,
            **extra,
        )
        if self._observer is None:
            return
        record = AttemptRecord(
            operation,
            req.method,
            req.call.resource_id,
            status,
            attempt,
            latency_ms,
            req.request_id,
            extra.get("trace_id"),
        )
        try:
            self._observer(record)
        except Exception:
            # GHL has already acted on this request: failing the call now would make the caller
            # retry a write that happened. Observation is best effort; say so loudly.
            log.exception("ghl.observer_failed", operation=operation)


async def _first_backoff(decision: bool | float) -> None:
    """The wait before the second attempt: the server's (a float) or stamina's first step."""
    if stamina.is_testing():
        return
    await asyncio.sleep(decision if isinstance(decision, float) else random.uniform(0, 0.25))  # noqa: S311


def _query(query: Mapping[str, Any] | None) -> list[tuple[str, str]] | None:
    """Query pairs as GHL reads them: lists repeat the key (``userIds=a&userIds=b``), booleans
    are ``true``/``false``, and None leaves the parameter out."""
    if not query:
        return None
    out: list[tuple[str, str]] = []
    for key, value in query.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                out.append((key, _wire(item)))
    return out


def _wire(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"raw": raw[:2000].decode("utf-8", "replace")}


def _trace_id(raw: bytes) -> str | None:
    # Cheap scan, for the log line and observers; the decoded body is parsed once in _decode.
    marker = b'"traceId":"'
    at = raw.find(marker)
    if at < 0:
        return None
    end = raw.find(b'"', at + len(marker))
    return raw[at + len(marker) : end].decode("ascii", "replace") if end > 0 else None


def _message(body: Mapping[str, Any], status: int) -> str:
    raw = body.get("message") or body.get("error_description") or body.get("error")
    if isinstance(raw, list):
        return "; ".join(str(m) for m in raw)
    if raw:
        return str(raw)
    return f"HTTP {status}"
