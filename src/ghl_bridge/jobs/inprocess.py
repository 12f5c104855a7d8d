"""The queue port on job rows in the database, for the embedded mode (DESIGN §2).

The database is the queue, so a restart loses nothing: a job is a row from `enqueue` to its
outcome, and a worker that dies mid-job leaves a lease that expires and lets another worker (or
the restarted one) take the job again. Workers are asyncio tasks inside `serve` or `worker`; an
enqueue through the same `InProcessQueue` wakes them at once, one from another process of the
same host through a datagram (`HostWake`), and anything else (a lost datagram, another host, a
delayed job coming due) is found by polling every `poll_interval_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.jobs.host_wake import HostWake
from ghl_bridge.jobs.outcome import (
    Completed,
    Failed,
    Outcome,
    Parked,
    run_attempt,
    run_batch_attempt,
)
from ghl_bridge.jobs.payload import check_job_id, check_options, encode_payload
from ghl_bridge.jobs.port import (
    DEFAULT_RETRY,
    KEEP_COMPLETED,
    BatchHandler,
    Handler,
    Job,
    JobInfo,
    JobState,
    KeepCompleted,
    RetryPolicy,
    backoff_delay_s,
)
from ghl_bridge.store.jobs import JobChange, JobRecord, JobRepo
from ghl_bridge.store.types import utcnow

_log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
# Told once an outcome handed to the recorder is written: True, False (the job was no longer
# active), or the error that stopped the write.
_Written = Callable[[bool | BaseException], None]


class _Signal:
    """A broadcast wake-up that cannot be missed.

    A waiter takes a `snapshot()` *before* looking for work and then waits on it; `notify()`
    sets every event handed out so far, so a notify that lands between the look and the wait
    still wakes the waiter. Nobody ever clears an event, so one waiter cannot swallow a wake-up
    meant for all.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def snapshot(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    @staticmethod
    async def wait(event: asyncio.Event, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)


# How long new jobs of a batch handler wait for the batch before them to end before they are
# started (adopted) or claimed: a self-clocking group commit, see `InProcessWorker._run_adopted`.
BATCH_WAIT_S: Final = 0.025

_NOT_AN_OBJECT: Final = Failed("job data must be a JSON object", permanent=True)

_STATES: Final[Mapping[str, JobState]] = {
    "waiting": "waiting",
    "active": "active",
    "completed": "completed",
    "failed": "failed",
}


def _info(record: JobRecord, now: datetime) -> JobInfo:
    state = _STATES.get(record.status, "unknown")
    if state == "waiting" and record.run_at > now:
        state = "delayed"
    data = json.loads(record.data_json)
    return JobInfo(
        id=record.id,
        name=record.name,
        state=state,
        data=data if isinstance(data, dict) else {},
        attempts_made=record.attempts_made,
        progress=0 if record.progress_json is None else json.loads(record.progress_json),
        result=None if record.result_json is None else json.loads(record.result_json),
        failed_reason=record.failed_reason,
    )


class InProcessQueue:
    """`Queue` and `DeadLetters` on the `jobs` table.

    Job ids are unique across all queues of the database (they are the table's key).
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        queue_name: str,
        *,
        clock: Clock = utcnow,
        policies: Mapping[str, RetryPolicy] | None = None,
        wake: HostWake | None = None,
    ) -> None:
        self.name = queue_name
        self.clock = clock
        self.policies: Mapping[str, RetryPolicy] = dict(policies or {})
        self.repo = JobRepo(sessionmaker, clock=clock)
        self.signal = _Signal()
        # The running worker of this process, if any: a producer that writes its job rows
        # already leased (`InProcessWorker.room`) hands them straight to it (`adopt`).
        self.local_worker: InProcessWorker | None = None
        # Workers of this queue in other processes of this host, woken after a commit here.
        self.wake = wake

    def notify_workers(self) -> None:
        """New jobs are committed: wake this process's worker, and those of other processes
        on this host (`HostWake`); the rest find them at their next poll."""
        self.signal.notify()
        if self.wake is not None:
            self.wake.notify()

    async def enqueue(
        self,
        name: str,
        data: Mapping[str, Any],
        *,
        job_id: str | None = None,
        delay_s: float = 0,
        attempts: int | None = None,
        backoff_s: float | None = None,
    ) -> str:
        """Insert the job row (a no-op for a known `job_id`) and wake this queue's workers."""
        policy = self.policies.get(name, DEFAULT_RETRY)
        attempts, backoff_s = policy.resolve(attempts, backoff_s)
        check_options(delay_s=delay_s, attempts=attempts, backoff_s=backoff_s)
        data_json = encode_payload(data)
        if job_id is not None:
            check_job_id(job_id)
        stored_id, created = await self.repo.add(
            self.name,
            name,
            data_json,
            job_id=job_id,
            dedupe_key=job_id,
            run_at=self.clock() + timedelta(seconds=delay_s),
            max_attempts=attempts,
            backoff_s=backoff_s,
        )
        if created:
            self.notify_workers()
        return stored_id

    async def get(self, job_id: str) -> JobInfo | None:
        record = await self.repo.get(job_id)
        if record is None or record.queue != self.name:
            return None
        return _info(record, self.clock())

    async def list_failed(self, limit: int = 100) -> list[JobInfo]:
        now = self.clock()
        return [_info(record, now) for record in await self.repo.list_failed(self.name, limit)]

    async def replay(self, job_id: str) -> bool:
        record = await self.repo.get(job_id)
        if record is None or record.queue != self.name or not await self.repo.retry_failed(job_id):
            return False
        self.notify_workers()
        return True

    async def close(self) -> None:
        """Release the wake-up sockets; the engine belongs to whoever made the sessionmaker."""
        if self.wake is not None:
            self.wake.close()


class InProcessWorker:
    """`WorkerRunner` for an `InProcessQueue`: one dispatcher claims, up to `concurrency` run.

    The dispatcher claims as many due jobs as there are free slots in one transaction, so an
    enqueue wakes one claim, not one per slot (on SQLite every claim is a write). Outcomes are
    group-committed the same way: a finished job hands its outcome to one recorder task, which
    writes everything handed in while its previous commit ran in one transaction, and the job
    keeps its slot (and its lease, renewed every `lease_s / 3`) until its outcome is committed.
    So a job is complete only once its handler returned and that was written; a worker that
    dies first leaves the job active, its lease expires and the job is taken again. One task
    renews the leases of every job in hand, in one statement (a renewal task per job cost a
    task and a write per job, which mattered once webhook batches made jobs cheap). Another
    prunes completed jobs past `keep_completed` (`KEEP_COMPLETED`, as BullMQ's).
    """

    def __init__(
        self,
        queue: InProcessQueue,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 4,
        poll_interval_s: float = 0.5,
        lease_s: float = 60,
        clock: Clock | None = None,
        keep_completed: KeepCompleted = KEEP_COMPLETED,
        prune_every_s: float = 60,
    ) -> None:
        if concurrency < 1 or poll_interval_s <= 0 or lease_s <= 0 or prune_every_s <= 0:
            raise ValueError(
                "concurrency, poll_interval_s, lease_s and prune_every_s must be positive"
            )
        self._queue = queue
        self._repo = queue.repo
        self._handlers = dict(handlers)
        # Asked once, not per job: isinstance against a runtime-checkable Protocol walks its
        # members each time (~3 % of a worker draining webhook events).
        self._batched = {name for name, h in self._handlers.items() if isinstance(h, BatchHandler)}
        self._concurrency = concurrency
        self._poll_interval_s = poll_interval_s
        self._lease_s = lease_s
        self._clock = clock or queue.clock
        self._keep = keep_completed
        self._prune_every_s = prune_every_s
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._busy = 0
        self._running = False
        self._outcomes: list[tuple[str, JobChange, _Written]] = []
        self._outcome_ready = asyncio.Event()
        self._claiming = False
        self._held: set[str] = set()  # ids of the jobs in hand, whose leases we renew
        self._group: asyncio.TaskGroup | None = None
        self._adopted: list[JobRecord] = []  # handed over by producers, not started yet
        self._adopted_ready = asyncio.Event()

    async def run(self) -> None:
        """Run the worker tasks until `stop()`.

        Cancelling `run` instead abandons in-flight jobs to lease expiry, unrecorded.
        """
        if self._running:
            raise RuntimeError("worker is already running")
        if self._stopping.is_set():
            return  # stopped before it ever ran: a stopped worker stays stopped
        self._running = True
        self._claiming = True
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._queue.local_worker = self
                wake = self._queue.wake
                listening = wake is not None and wake.listen(self._queue.signal.notify)
                if wake is not None and not listening:  # every slot taken, or not Linux
                    _log.info("jobs.wake_polling", queue=self._queue.name)
                recorder = group.create_task(self._record_outcomes())
                group.create_task(self._run_adopted(group))
                renewer = group.create_task(self._renew_leases())
                pruner = group.create_task(self._prune_completed())
                try:
                    await self._dispatch(group)
                finally:
                    self._claiming = False  # no job can be handed out any more
                    self._outcome_ready.set()
                    self._adopted_ready.set()  # start what was adopted, then end
                    if self._queue.local_worker is self:
                        self._queue.local_worker = None
                    if listening and wake is not None:
                        wake.unlisten()
                await recorder  # every job handed out has its outcome written
                renewer.cancel()
                pruner.cancel()
        finally:
            self._group = None
            self._running = False
            self._stopped.set()

    async def stop(self) -> None:
        """Stop claiming and wait for the jobs in hand to be recorded; final, like BullMQ's."""
        self._stopping.set()
        self._slot_free.set()
        self._queue.signal.notify()
        if self._running:
            await self._stopped.wait()

    async def _dispatch(self, group: asyncio.TaskGroup) -> None:
        while not self._stopping.is_set():
            free = self._concurrency - self._busy
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            wake = self._queue.signal.snapshot()
            try:
                claimed = await self._repo.claim(
                    self._queue.name, self._clock(), self._lease_s, limit=free
                )
            except Exception:
                _log.exception("claiming jobs failed", queue=self._queue.name)
                claimed = []
            if not claimed:
                await _Signal.wait(wake, self._poll_interval_s)
                continue
            self._busy += len(claimed)
            started = self._start(group, claimed)
            if started:  # what comes due meanwhile goes into one bigger claim (`BATCH_WAIT_S`)
                await asyncio.wait(started, timeout=BATCH_WAIT_S)

    def room(self) -> int:
        """How many more jobs this worker would take now (0 once it is stopping). Not a
        reservation: a producer that writes leased rows by it and one claim meanwhile can take
        the worker past `concurrency` by one batch, which only delays those jobs' start."""
        if not self._claiming or self._stopping.is_set() or self._group is None:
            return 0
        return max(0, self._concurrency - self._busy)

    def lease_until(self) -> datetime:
        """The lease a job handed to this worker now should be written with."""
        return self._clock() + timedelta(seconds=self._lease_s)

    def adopt(self, records: list[JobRecord]) -> bool:
        """Run jobs whose rows a producer in this process committed already leased (their
        transaction is its claim: no claim round trip, no wake-up). False if the worker is
        stopping: the jobs then wait for their lease to expire and are claimed again."""
        if self._group is None or not self._claiming or self._stopping.is_set():
            return False
        self._busy += len(records)  # in hand from now on: `room` counts them
        self._adopted.extend(records)
        self._adopted_ready.set()
        return True

    async def _run_adopted(self, group: asyncio.TaskGroup) -> None:
        """Start adopted jobs a batch at a time: whatever was handed over while the previous
        batch ran (up to `BATCH_WAIT_S`) goes into the next, as a group commit does.

        A producer hands over each of its commits (a receiver's batch is a few dozen events),
        and most of a batch's cost is per batch, not per event (a load, a subscription look-up,
        a mark, a record: ~4 ms per batch of 25 in the embedded mode, docs/benchmarks.md), so
        starting each hand-over at once spent the worker on small batches. When idle, a
        hand-over starts at once; under load, batches grow with the load. The wait is bounded
        so a batch held up by one slow job (an INSTALL waiting on GHL) delays the next little.
        """
        while True:
            if not self._adopted:
                if not self._claiming:
                    return
                self._adopted_ready.clear()
                await self._adopted_ready.wait()
                continue
            records, self._adopted = self._adopted, []
            started = self._start(group, records)  # counted in `_busy` by `adopt`
            if started:
                await asyncio.wait(started, timeout=BATCH_WAIT_S)

    def _start(
        self, group: asyncio.TaskGroup, records: list[JobRecord]
    ) -> list[asyncio.Task[None]]:
        """Run ``records`` (already counted in `_busy`): a task per batch of a batch handler's
        jobs, one per other job; returns the batch tasks."""
        batches: dict[str, list[JobRecord]] = {}
        for record in records:
            if record.name in self._batched and record.attempts_made < record.max_attempts:
                batches.setdefault(record.name, []).append(record)
            else:
                group.create_task(self._run_one(record))
        return [
            group.create_task(self._run_batch(self._handlers[name], batch))
            for name, batch in batches.items()
        ]

    async def _run_one(self, record: JobRecord) -> None:
        try:
            await self._execute(record)
        except Exception:
            # The row stays active; its lease expires and the job is taken again.
            _log.exception("recording a job outcome failed", job_id=record.id)
        finally:
            self._release(1)

    async def _run_batch(self, handler: Any, records: list[JobRecord]) -> None:
        """One `BatchHandler` call for the claimed jobs of its name. Each job's outcome is
        handed to the recorder as soon as the handler reports that job done, and its slot freed
        once that is written: a slow job holds back no other (the recorder batches the writes
        anyway). A callback per job, not a task: a batch of 256 cheap events paid ~10 % of the
        worker's time for task scheduling."""
        by_id = {record.id: record for record in records}
        self._held.update(by_id)
        unsettled = set(by_id)
        writing = 0
        all_written = asyncio.Event()

        def written(record: JobRecord, result: bool | BaseException) -> None:
            nonlocal writing
            self._log_unrecorded(record.id, result)
            self._held.discard(record.id)
            self._release(1)
            writing -= 1
            if writing == 0:
                all_written.set()

        def settle(record: JobRecord, outcome: Outcome) -> None:
            nonlocal writing
            if record.id in unsettled:
                unsettled.discard(record.id)
                writing += 1
                self._hand_over(record.id, self._change(record, outcome), partial(written, record))

        try:
            jobs: list[Job] = []
            for record in records:
                job = self._job(record)
                if job is None:
                    settle(record, _NOT_AN_OBJECT)
                else:
                    jobs.append(job)
            await run_batch_attempt(handler, jobs, lambda job, o: settle(by_id[job.id], o))
        except Exception:
            # The unsettled rows stay active; their leases expire and they are taken again.
            _log.exception("running a batch of jobs failed", jobs=len(records))
        finally:
            self._held.difference_update(unsettled)
            self._release(len(unsettled))  # abandoned to lease expiry
        if writing:
            await all_written.wait()  # the recorder writes everything handed to it

    @staticmethod
    def _log_unrecorded(job_id: str, result: bool | BaseException) -> None:
        if isinstance(result, BaseException):
            # The row stays active; its lease expires and the job is taken again.
            _log.error("recording a job outcome failed", job_id=job_id, exc_info=result)
        elif not result:
            _log.warning("job outcome not recorded: job no longer active", job_id=job_id)

    def _release(self, jobs: int) -> None:
        """Give back the slots of jobs whose outcomes are written (or abandoned to lease expiry)."""
        self._busy -= jobs
        self._slot_free.set()
        self._outcome_ready.set()  # the recorder may be waiting for the last job to end

    async def _execute(self, record: JobRecord) -> None:
        if record.attempts_made >= record.max_attempts:
            reason = "the worker running the last attempt stopped before recording an outcome"
            await self._record(record.id, self._repo.failed(reason, None, count_attempt=False))
            return
        self._held.add(record.id)
        try:
            outcome = await self._attempt(record)
            recorded = await self._record(record.id, self._change(record, outcome))
        finally:
            self._held.discard(record.id)
        self._log_unrecorded(record.id, recorded)

    async def _record(self, job_id: str, change: JobChange) -> bool:
        """Hand an outcome to the recorder; True once committed, False if the job was no
        longer active; raises if it could not be written."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._hand_over(job_id, change, partial(_settle, done))
        return await done

    def _hand_over(self, job_id: str, change: JobChange, then: _Written) -> None:
        """Queue an outcome for the recorder's next transaction; ``then`` hears True once it
        is committed, False if the job was no longer active, or the error that stopped it."""
        self._outcomes.append((job_id, change, then))
        self._outcome_ready.set()

    async def _record_outcomes(self) -> None:
        """The recorder: one transaction per batch of outcomes; ends once the dispatcher has
        stopped and every job it handed out has its outcome written."""
        while True:
            if not self._outcomes:
                if not self._claiming and self._busy == 0:
                    return
                self._outcome_ready.clear()
                await self._outcome_ready.wait()
                continue
            batch, self._outcomes = self._outcomes, []
            await self._write(batch)

    async def _write(self, batch: list[tuple[str, JobChange, _Written]]) -> None:
        try:
            applied = await self._repo.record([(job_id, change) for job_id, change, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _tell(batch[0][2], exc)
                return
            # One bad row must not sink the others': write them one by one.
            for item in batch:
                await self._write([item])
            return
        for (_, _, then), ok in zip(batch, applied, strict=True):
            _tell(then, ok)

    def _change(self, record: JobRecord, outcome: Outcome) -> JobChange:
        if isinstance(outcome, Completed):
            return self._repo.completed(outcome.result_json)
        now = self._clock()
        if isinstance(outcome, Parked):
            return self._repo.parked(now + timedelta(seconds=outcome.delay_s))
        failures = record.attempts_made + 1
        retry_at = None
        if not outcome.permanent and failures < record.max_attempts:
            retry_at = now + timedelta(seconds=backoff_delay_s(record.backoff_s, failures))
        return self._repo.failed(outcome.reason, retry_at)

    async def _attempt(self, record: JobRecord) -> Outcome:
        job = self._job(record)
        if job is None:
            return _NOT_AN_OBJECT
        return await run_attempt(self._handlers, self._queue.name, job)

    def _job(self, record: JobRecord) -> Job | None:
        """The handler's view of a claimed row; None if its data is not a JSON object."""
        data = json.loads(record.data_json)
        if not isinstance(data, dict):
            return None

        async def report(value: Any) -> None:
            await self._repo.set_progress(record.id, json.dumps(value, allow_nan=False))

        return Job(
            id=record.id,
            name=record.name,
            data=data,
            attempt=record.attempts_made + 1,
            report=report,
            max_attempts=record.max_attempts,
        )

    async def _prune_completed(self) -> None:
        """Drop completed jobs past `keep_completed` (age or count), now and every
        `prune_every_s`: a claim never reads them, but the table would grow for good. Every
        worker of the queue may do it; deleting what another already deleted is a no-op."""
        while True:
            try:
                finished_before = self._clock() - timedelta(seconds=self._keep.age_s)
                removed = await self._repo.prune_completed(
                    self._queue.name, finished_before, self._keep.count
                )
                if removed:
                    _log.info("jobs.pruned", queue=self._queue.name, completed=removed)
            except Exception:
                _log.exception("pruning completed jobs failed", queue=self._queue.name)
            await asyncio.sleep(self._prune_every_s)

    async def _renew_leases(self) -> None:
        """Keep the leases of the jobs in hand from expiring while their handlers run."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            if not self._held:
                continue
            until = self._clock() + timedelta(seconds=self._lease_s)
            try:
                await self._repo.extend_leases(list(self._held), until)
            except Exception:
                _log.exception("renewing job leases failed", jobs=len(self._held))


def _tell(then: _Written, result: bool | BaseException) -> None:
    try:
        then(result)
    except Exception:  # a listener's bug must not stop the recorder
        _log.exception("a job outcome listener failed")


def _settle(done: asyncio.Future[bool], result: bool | BaseException) -> None:
    if done.done():  # its job was cancelled (a forced shutdown)
        return
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)
