"""The notification worker: one task per central process that delivers the outbox's due jobs.

Every ``POLL_S`` second, or at once when an alarm change is published (the change hub: this process's
commits and, on PostgreSQL, the other processes'), it first picks up a new policy text from the database
(an admin's replacement through the API, or another process started with ``--notify``), then claims due
jobs (``central.notify.jobs.claim``) and delivers each: it reads the alarm as it is now, checks
``still_due`` (a change committed after the claim may have ended the job's round), renders the message
in the contact's language and form, sends it through Apprise, and records the outcome in one transaction:
``sent`` with ``notified <contact>`` on the alarm's timeline, or a retry (``RetryPolicy``: back to
``pending`` later, ``notify failed <contact>: <why>`` on the timeline), or ``failed`` for good. A job whose
contact the policies no longer name fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from central.changes import ChangeHub
from central.notify.delivery import deliver, wants_short
from central.notify.in_force import PoliciesInForce
from central.notify.jobs import AlarmNow, Claimed, Finish
from central.notify.message import render
from central.notify.plan import Job, still_due
from central.notify.policyfile import load_policies, parse_policies
from central.notify.retry import GiveUp, RetryPolicy
from central.store.sql_store import SqlStore
from protocols.errors import ConfigError

log = logging.getLogger(__name__)

POLL_S = 1.0
CLAIM_LIMIT = 50
MAX_SENDING = 16  # deliveries under way at once per process


class NotifyWorker:
    def __init__(
        self,
        store: SqlStore,
        hub: ChangeHub,
        clock_ms: Callable[[], int],
        *,
        base_url: str,
        time_zone: str,
        lease_s: float,
        retry: RetryPolicy,
    ) -> None:
        self.store = store
        self.hub = hub
        self.clock_ms = clock_ms
        self.base_url = base_url
        self.time_zone = time_zone
        self.lease_ms = round(lease_s * 1000)
        self.timeout_s = lease_s / 2  # a delivery ends well before its lease runs out
        self.retry = retry
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._rng = random.Random()
        self._sending = asyncio.Semaphore(MAX_SENDING)
        self._failing = False  # one warning when rounds start failing, one info when they work again
        self.counters = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0, "skipped": 0, "lost_claims": 0}

    @property
    def outbox(self) -> PoliciesInForce:
        return self.store.outbox

    async def run(self) -> None:
        woken = asyncio.Event()
        self.hub.wakers.append(woken)
        try:
            while True:
                woken.clear()
                try:
                    await self.refresh_policies()
                    while await self.deliver_due() == CLAIM_LIMIT:
                        pass
                except Exception:  # the database is away, say: try again at the next tick
                    if not self._failing:
                        log.warning(
                            "notification worker: a round failed; trying every %g s", POLL_S, exc_info=True
                        )
                    else:
                        log.debug("notification worker: a round failed again", exc_info=True)
                    self._failing = True
                else:
                    if self._failing:
                        log.info("notification worker: working again")
                    self._failing = False
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_S):
                        await woken.wait()
        finally:
            self.hub.wakers.remove(woken)

    async def start(self, notify_file: Path | None) -> None:
        """Store the policy file's text, if given (``ConfigError`` when it is bad), and take the policies in
        force: the file's, else what the database holds from before."""
        if notify_file is not None:
            source = load_policies(notify_file)
            await self.store.call(
                self.store.put_notify_policy_text, source.path, source.text, self.clock_ms()
            )
        await self.refresh_policies()

    async def refresh_policies(self) -> None:
        """Use the database's policy text if it changed since this process last read it."""
        version = await self.store.call(self.store.notify_policy_version)
        if version == self.outbox.version:
            return
        found = await self.store.call(self.store.notify_policy_text)
        if found is None:
            return
        version, path, text = found
        try:
            source = parse_policies(text, path)
        except ConfigError as e:  # stored by an older release, perhaps: keep what this process has
            log.error("notification policies version %d are not usable:\n%s", version, e)
            self.outbox.version = version
            return
        self.outbox.policies = source.policies
        self.outbox.version = version
        log.info("notification policies version %d: %d policies", version, len(source.policies.policies))

    async def deliver_due(self) -> int:
        """Claim the due jobs and deliver them; how many were claimed. Outcomes are recorded in groups:
        whatever finished while the last group was being written goes in the next transaction."""
        claimed = await self.store.call(
            self.store.claim_notify_jobs, self.clock_ms(), self.owner, self.lease_ms, CLAIM_LIMIT
        )
        if not claimed:
            return 0
        self.counters["claimed"] += len(claimed)
        alarms = await self.store.call(
            self.store.notify_alarms, [c.job.alarm_id for c in claimed], self.time_zone, self.clock_ms()
        )
        finished: list[Finish] = []
        arrived = asyncio.Event()

        async def one(c: Claimed) -> None:
            finished.append(await self._attempt(c, alarms.get(c.job.alarm_id)))
            arrived.set()

        recorded: set[str] = set()
        try:
            async with asyncio.TaskGroup() as tg:
                for c in claimed:
                    tg.create_task(one(c), name=f"notify-{c.job.id}")
                while len(recorded) < len(claimed):
                    await arrived.wait()
                    arrived.clear()
                    group = finished[:]
                    del finished[: len(group)]
                    await self._record(group)
                    recorded |= {done.job.id for done in group}
        except asyncio.CancelledError:  # the process stops: the next one need not wait for the leases
            left = [c.job.id for c in claimed if c.job.id not in recorded]
            await self.store.call(self.store.release_notify_jobs, left, self.owner)
            raise
        return len(claimed)

    async def _attempt(self, claimed: Claimed, now: AlarmNow | None) -> Finish:
        """Deliver one claimed job (unless its round ended or its contact is gone); its outcome."""
        job = claimed.job
        attempts = claimed.attempts + 1
        if now is None or not still_due(
            job, status=now.status, acknowledged=now.acknowledged, shelved=now.shelved
        ):
            return Finish(job, "skipped", claimed.attempts)
        policies = self.outbox.policies
        contact = policies.contact(job.contact) if policies is not None else None
        if policies is None or contact is None:
            why = f"no contact {job.contact!r} in the notification policies"
            return Finish(job, "failed", attempts, error=why, note=_failed(job, why))
        templates = policies.templates.get(contact.template) if contact.template else None
        message = render(
            job, now.facts, contact, base_url=self.base_url, templates=templates, short=wants_short(contact)
        )
        async with self._sending:
            outcome = await deliver(contact, message, timeout_s=self.timeout_s)
        if outcome.ok:
            return Finish(job, "sent", attempts, note=f"notified {job.contact} ({_what(job)})")
        after = self.retry.after_failure(attempts, self.clock_ms(), self._rng)
        if isinstance(after, GiveUp):
            note = _failed(job, f"{outcome.detail} (gave up after {attempts} attempts)")
            return Finish(job, "failed", attempts, error=outcome.detail, note=note)
        note = _failed(job, f"{outcome.detail} (attempt {attempts}; trying again)")
        return Finish(job, "pending", attempts, due_ms=after.due_ms, error=outcome.detail, note=note)

    async def _record(self, group: list[Finish]) -> None:
        kept = await self.store.call(self.store.finish_notify_jobs, group, self.owner, self.clock_ms())
        for done in group:
            key = {"sent": "sent", "pending": "retried", "failed": "failed", "skipped": "skipped"}[done.state]
            self.counters[key] += 1
        if kept < len(group):
            self.counters["lost_claims"] += len(group) - kept
            log.warning("%d notification outcomes not recorded: their claims ran out", len(group) - kept)

    def statistics(self) -> dict[str, int]:
        return dict(self.counters)


def _what(job: Job) -> str:
    return job.kind.value if job.kind.value in ("raise", "clear", "close") else f"{job.kind.value} {job.n}"


def _failed(job: Job, why: str) -> str:
    return f"notify failed {job.contact} ({_what(job)}): {why}"
