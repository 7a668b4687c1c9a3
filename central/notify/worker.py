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
from central.notify.delivery import Outcome, deliver, wants_short
from central.notify.jobs import Claimed
from central.notify.message import render
from central.notify.outbox import Outbox
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
        self.counters = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0, "skipped": 0, "lost_claims": 0}

    @property
    def outbox(self) -> Outbox:
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
                except Exception:  # the database is away: try again at the next tick
                    log.exception("notification worker: a round failed; trying again in %g s", POLL_S)
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
        """Claim the due jobs and deliver them; how many were claimed."""
        now_ms = self.clock_ms()
        claimed = await self.store.call(
            self.store.claim_notify_jobs, now_ms, self.owner, self.lease_ms, CLAIM_LIMIT
        )
        self.counters["claimed"] += len(claimed)
        async with asyncio.TaskGroup() as tg:
            for c in claimed:
                tg.create_task(self._one(c), name=f"notify-{c.job.id}")
        return len(claimed)

    async def _one(self, claimed: Claimed) -> None:
        async with self._sending:
            job = claimed.job
            attempts = claimed.attempts + 1
            now = await self.store.call(self.store.notify_alarm, job.alarm_id, self.time_zone)
            if now is None or not still_due(
                job, status=now.status, acknowledged=now.acknowledged, shelved=now.shelved
            ):
                await self._finish(job, "skipped", claimed.attempts)
                self.counters["skipped"] += 1
                return
            policies = self.outbox.policies
            contact = policies.contact(job.contact) if policies is not None else None
            if policies is None or contact is None:
                why = f"no contact {job.contact!r} in the notification policies"
                await self._finish(job, "failed", attempts, error=why, note=_failed(job, why))
                self.counters["failed"] += 1
                return
            templates = policies.templates.get(contact.template) if contact.template else None
            message = render(
                job, now.facts, contact, base_url=self.base_url, templates=templates,
                short=wants_short(contact),
            )  # fmt: skip
            outcome = await deliver(contact, message, timeout_s=self.timeout_s)
            await self._record(job, attempts, outcome)

    async def _record(self, job: Job, attempts: int, outcome: Outcome) -> None:
        if outcome.ok:
            await self._finish(job, "sent", attempts, note=f"notified {job.contact} ({_what(job)})")
            self.counters["sent"] += 1
            return
        after = self.retry.after_failure(attempts, self.clock_ms(), self._rng)
        if isinstance(after, GiveUp):
            note = _failed(job, f"{outcome.detail} (gave up after {attempts} attempts)")
            await self._finish(job, "failed", attempts, error=outcome.detail, note=note)
            self.counters["failed"] += 1
            return
        note = _failed(job, f"{outcome.detail} (attempt {attempts}; trying again)")
        await self._finish(job, "pending", attempts, due_ms=after.due_ms, error=outcome.detail, note=note)
        self.counters["retried"] += 1

    async def _finish(
        self,
        job: Job,
        state: str,
        attempts: int,
        *,
        due_ms: int | None = None,
        error: str | None = None,
        note: str | None = None,
    ) -> None:
        kept = await self.store.call(
            self.store.finish_notify_job, job, owner=self.owner, now_ms=self.clock_ms(), state=state,
            attempts=attempts, due_ms=due_ms, error=error, note=note,
        )  # fmt: skip
        if not kept:
            self.counters["lost_claims"] += 1
            log.warning(
                "notification %s: the claim ran out before its outcome (%s) was recorded", job.id, state
            )

    def statistics(self) -> dict[str, int]:
        return dict(self.counters)


def _what(job: Job) -> str:
    return job.kind.value if job.kind.value in ("raise", "clear", "close") else f"{job.kind.value} {job.n}"


def _failed(job: Job, why: str) -> str:
    return f"notify failed {job.contact} ({_what(job)}): {why}"
