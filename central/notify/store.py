"""The store's notification methods (a mixin of ``central.store.sql_store.SqlStore``): each one transaction.

Synchronous like every store method; the worker and the API call them through ``store.call``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from central.notify import jobs
from central.notify.jobs import AlarmNow, Claimed, Finish, JobRow

if TYPE_CHECKING:
    from central.store.handle import Db


class NotifyMethods:
    kind: str

    def _db(self) -> Db:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    def claim_notify_jobs(self, now_ms: int, owner: str, lease_ms: int, limit: int) -> list[Claimed]:
        """Due jobs, marked ``sending`` for ``owner`` until ``now_ms + lease_ms``."""
        with self._write() as db:
            return jobs.claim(
                db, now_ms=now_ms, owner=owner, lease_ms=lease_ms, limit=limit,
                skip_locked=self.kind == "postgresql",
            )  # fmt: skip

    def notify_alarms(self, alarm_ids: list[int], time_zone: str, now_ms: int) -> dict[int, AlarmNow]:
        """The alarms as they are now (for ``still_due`` and the messages), by id."""
        return jobs.alarms_now(self._db(), alarm_ids, time_zone, now_ms)

    def finish_notify_jobs(self, outcomes: list[Finish], owner: str, now_ms: int) -> int:
        """Record the outcomes in one transaction; how many were still ``owner``'s to record."""
        with self._write() as db:
            return sum(jobs.finish(db, done, owner=owner, now_ms=now_ms) for done in outcomes)

    def release_notify_jobs(self, job_ids: list[str], owner: str) -> int:
        """Put ``owner``'s claimed jobs back to ``pending`` (a stopping process); how many."""
        with self._write() as db:
            return jobs.release(db, job_ids, owner)

    def notify_jobs(self, alarm_id: int | None = None) -> list[JobRow]:
        return jobs.job_rows(self._db(), alarm_id)

    def notify_policy_version(self) -> int:
        return jobs.policy_version(self._db())

    def notify_policy_text(self) -> tuple[int, str, str] | None:
        """``(version, path, text)`` of the policies every process uses, or None."""
        return jobs.policy_text(self._db())

    def put_notify_policy_text(self, path: str, text: str, now_ms: int) -> int:
        with self._write() as db:
            return jobs.put_policy_text(db, path, text, now_ms)
