"""The central delivers its notifications: real receivers (an HTTP webhook, an SMTP mailbox), the app
served by uvicorn, both stores. Delays in the policies are short (1-2 s) so time runs fast; every wait is
bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from central.store.base import Store
from central.store.sql_store import SqlStore
from tests.central.builders import event
from tests.central.notify.centrals import central
from tests.central.notify.receivers import Mailbox, WebhookReceiver

pytestmark = pytest.mark.slow  # a few seconds each: escalations and retries in real (short) time
WAIT_S = 15.0


def policies(
    hook: WebhookReceiver, *, mail: Mailbox | None = None, director: str = "", extra: str = ""
) -> str:
    contacts = [f'  - {{name: duty-desk, url: "{hook.url()}"}}']
    notify = ["duty-desk"]
    if mail is not None:
        contacts.append(f'  - {{name: mail-desk, url: "{mail.url()}", language: en}}')
        notify.append("mail-desk")
    if director:
        contacts.append(f'  - {{name: director, url: "{director}"}}')
    return (
        "contacts:\n" + "\n".join(contacts) + "\npolicies:\n  - name: hazards\n    min_level: orange\n"
        f"    notify: [{', '.join(notify)}]\n{extra}"
    )


async def until(n: int, receiver: WebhookReceiver | Mailbox) -> None:
    await asyncio.to_thread(receiver.wait_for, n, WAIT_S)


async def test_a_red_event_reaches_the_webhook_and_the_mailbox(
    store: Store, tmp_path: Path, webhook: WebhookReceiver, mailbox: Mailbox
) -> None:
    async with central(store, tmp_path, policies(webhook, mail=mailbox)) as c:
        await c.send(event("gw-1", 1, 4, 0))
        await until(1, webhook)
        await until(1, mailbox)
        (hook,) = webhook.delivered
        body = hook.json()
        assert body["notification_id"].endswith(":hazards:duty-desk:raise:4")
        assert hook.headers["X-FieldWatch-Notification-Id"] == body["notification_id"]
        assert "红色预警" in body["title"] and body["link"] == "http://console.test/#/alarms/1"
        (mail,) = mailbox.messages
        assert "Red warning" in str(mail["Subject"])
        notes = {t["note"] for t in await c.notes(1, 2)}
        assert notes == {"notified duty-desk (raise)", "notified mail-desk (raise)"}


ESCALATE = "    escalate: [{after_s: 1.5, notify: [director]}]\n"


@pytest.mark.parametrize("acknowledged", [False, True])
async def test_escalation_after_the_delay_unless_acknowledged(
    store: Store, tmp_path: Path, webhook: WebhookReceiver, acknowledged: bool
) -> None:
    with WebhookReceiver() as director:
        text = policies(webhook, director=director.url("/director"), extra=ESCALATE)
        async with central(store, tmp_path, text) as c:
            await c.send(event("gw-1", 1, 3, 0))
            if acknowledged:
                await c.acknowledge(1)  # before the step is due, however slow the machine: it is cancelled
                await until(1, webhook)  # the raise is still told
                await asyncio.sleep(3.0)  # past the step's due time and a worker tick
                assert director.delivered == []
                assert isinstance(store, SqlStore)
                assert {j.kind: j.state for j in store.notify_jobs(1)} == {
                    "raise": "sent",
                    "step": "cancelled",
                }
            else:
                await until(1, webhook)
                await until(1, director)
                assert director.delivered[0].json()["kind"] == "step"


REMIND = "    repeat_every_s: 1\n    max_repeats: 20\n"


async def test_reminders_stop_at_the_acknowledgement(
    store: Store, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    async with central(store, tmp_path, policies(webhook, extra=REMIND)) as c:
        await c.send(event("gw-1", 1, 4, 0))
        await until(3, webhook)  # the raise and two reminders
        await c.acknowledge(1)
        assert isinstance(store, SqlStore)
        async with asyncio.timeout(WAIT_S):  # a reminder on its way as the acknowledgement commits may arrive
            while True:
                if all(j.state != "sending" for j in store.notify_jobs(1)):
                    break
                await asyncio.sleep(0.05)
        seen = len(webhook.delivered)
        await asyncio.sleep(2.5)
        assert len(webhook.delivered) == seen
        kinds = [r.json()["kind"] for r in webhook.delivered]
        assert kinds[0] == "raise" and set(kinds[1:]) == {"reminder"}


async def test_a_receiver_failing_three_times_gets_it_once_with_the_failures_on_the_timeline(
    store: Store, tmp_path: Path
) -> None:
    with WebhookReceiver(fail_first=3) as hook:
        async with central(store, tmp_path, policies(hook)) as c:
            await c.send(event("gw-1", 1, 4, 0))
            await until(1, hook)
            await asyncio.sleep(0.5)
            assert len(hook.delivered) == 1 and len(hook.requests) == 4
            ids = {r.headers["X-FieldWatch-Notification-Id"] for r in hook.requests}
            assert len(ids) == 1
            timeline = await c.notes(1, 4)
            assert [t["kind"] for t in timeline] == ["notify_failed"] * 3 + ["notified"]
            assert timeline[0]["note"].startswith("notify failed duty-desk (raise): ")
            assert "error=500" in timeline[0]["note"] and "attempt 1" in timeline[0]["note"]


async def test_a_central_that_stops_gives_back_the_jobs_it_was_sending(store: Store, tmp_path: Path) -> None:
    with WebhookReceiver(delay_s=3.0) as slow:
        async with central(store, tmp_path, policies(slow)) as c:
            await c.send(event("gw-1", 1, 4, 0))
            assert isinstance(store, SqlStore)
            async with asyncio.timeout(WAIT_S):
                while True:  # until the worker claimed it and its request is on the way
                    if [j.state for j in store.notify_jobs(1)] == ["sending"]:
                        break
                    await asyncio.sleep(0.05)
        # stopped mid-delivery: due again at once, not after the lease
        assert [(j.state, j.attempts) for j in store.notify_jobs(1)] == [("pending", 0)]
