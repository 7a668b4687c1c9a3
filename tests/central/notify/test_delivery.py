"""Delivery through Apprise to real receivers: a webhook (HTTP) and a mailbox (SMTP). No mocked Apprise."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from central.notify.delivery import ID_HEADER, Outcome, deliver, mask, safe_url, url_problem, wants_short
from central.notify.message import AlarmFacts, Message, render
from central.notify.plan import Job, JobKind
from central.notify.policy import Contact
from tests.central.notify.receivers import Mailbox, WebhookReceiver

T_MS = 1_718_000_000_000
RED = AlarmFacts(
    alarm_id=42, level=4, channel="gw-slope/gnss-03/north_mm", rule="north_velocity", event_ms=T_MS,
    message="velocity 12.3 mm/h reached red (threshold 10)", site_id="slope-east", site_name="东帮边坡",
    rule_kind="slope", criterion="velocity", value=12.34, unit="mm/h", threshold=10.0, direction="rising",
    forecast_failure_ms=T_MS + 6 * 3600 * 1000,
)  # fmt: skip
RAISE = Job(42, T_MS, "hazards", "duty-desk", JobKind.RAISE, 4, T_MS, T_MS)
BASE_URL = "http://center.example:8080"


def red_for(contact: Contact) -> Message:
    return render(RAISE, RED, contact, base_url=BASE_URL, short=wants_short(contact))


async def test_a_red_warning_reaches_the_webhook_with_its_id(webhook: WebhookReceiver) -> None:
    desk = Contact(name="duty-desk", url=webhook.url())
    message = red_for(desk)
    assert await deliver(desk, message) == Outcome(True, "")
    (request,) = webhook.wait_for(1)
    assert request.headers[ID_HEADER] == f"42:{T_MS}:hazards:duty-desk:raise:4"
    body = request.json()
    assert body["title"] == "【红色预警】东帮边坡"
    assert body["message"] == message.body
    assert body["type"] == "failure"
    assert {k: body[k] for k in ("notification_id", "alarm_id", "level", "kind", "link")} == {
        "notification_id": f"42:{T_MS}:hazards:duty-desk:raise:4",
        "alarm_id": "42",
        "level": "4",
        "kind": "raise",
        "link": "http://center.example:8080/#/alarms/42",
    }


async def test_a_red_warning_reaches_the_mailbox(mailbox: Mailbox) -> None:
    director = Contact(name="director", url=mailbox.url(to="director@example.com"), language="en")
    outcome = await deliver(director, red_for(director))
    assert outcome.ok, outcome.detail
    (mail,) = mailbox.wait_for(1)
    assert mail["To"] == "director@example.com"
    assert mail["Subject"] == "[Red warning] 东帮边坡"
    assert mail[ID_HEADER] == f"42:{T_MS}:hazards:duty-desk:raise:4"
    text = mail.get_content()
    assert "displacement rate 12.34 mm/h, above the threshold 10 mm/h" in text
    assert "View and acknowledge: http://center.example:8080/#/alarms/42" in text


async def test_a_refusing_receiver_is_an_outcome_and_every_try_carries_one_id() -> None:
    with WebhookReceiver(fail_first=3) as hook:
        desk = Contact(name="duty-desk", url=hook.url())
        outcomes = [await deliver(desk, red_for(desk)) for _ in range(4)]
        assert [o.ok for o in outcomes] == [False, False, False, True]
        assert outcomes[0].detail == (
            "Failed to send JSON POST notification: Internal server error., error=500."
        )
        assert [r.status for r in hook.requests] == [500, 500, 500, 200]
        assert len({r.headers[ID_HEADER] for r in hook.requests}) == 1  # the receiver can drop a repeat


async def test_a_mailbox_that_refuses_once() -> None:
    with Mailbox(fail_first=1) as box:
        duty = Contact(name="duty", url=box.url())
        first, second = await deliver(duty, red_for(duty)), await deliver(duty, red_for(duty))
        assert first == Outcome(False, 'Sending email to "duty@example.com" failed.')
        assert second.ok
        assert len(box.wait_for(1)) == 1


async def test_an_unreachable_receiver_fails_without_telling_secrets() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"json://admin:s3cret-passw0rd@127.0.0.1:{port}/hook/Tok3nTok3nTok3n?key=0123456789abcdef"
    outcome = await deliver(Contact(name="gone", url=url), Message("id", "t", "b", "info"))
    assert outcome == Outcome(False, "A Connection error occurred sending JSON notification to 127.0.0.1.")
    for secret in ("s3cret-passw0rd", "Tok3nTok3nTok3n", "0123456789abcdef"):
        assert secret not in safe_url(url)
        assert secret not in outcome.detail
    assert safe_url(url).startswith(f"json://admin:****@127.0.0.1:{port}/hook/")


async def test_a_slow_receiver_times_out_without_holding_the_event_loop() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    with WebhookReceiver(delay_s=3) as hook:
        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        outcome = await deliver(
            Contact(name="slow", url=hook.url()), Message("id", "t", "b", "info"), timeout_s=1
        )
        took_s = time.monotonic() - started
        ticker.cancel()
    assert outcome == Outcome(False, "timed out")
    assert 0.9 <= took_s < 2.5
    assert ticks >= 10  # the loop kept running while Apprise waited in its thread


@pytest.mark.parametrize(
    ("url", "sms", "expected"),
    [
        ("json://127.0.0.1/hook", None, False),
        ("mailto://user:pass@example.com", None, False),
        ("twilio://AC123:token@+15551234567/+15557654321", None, True),  # an SMS gateway: 160 characters
        ("json://127.0.0.1/sms-bridge", True, True),  # the contact says so
        ("twilio://AC123:token@+15551234567/+15557654321", False, False),
    ],
)
def test_which_contacts_get_the_short_form(url: str, sms: bool | None, expected: bool) -> None:
    assert wants_short(Contact(name="c", url=url, sms=sms)) is expected


def test_url_problem_asks_apprise_offline() -> None:
    assert url_problem("json://127.0.0.1:9000/hook") is None
    assert url_problem("dingtalk://0123456789abcdef") is None
    assert url_problem("wecombot://0123456789abcdef") is None
    assert url_problem("jsno://x") == "Apprise has no service jsno:// (did you mean json://?)"


def test_mask_keeps_where_and_hides_what_may_be_a_secret() -> None:
    url = "mailto://duty:pa55word@smtp.example.com:587?to=duty@example.com&token=abcdefgh12345678"
    text = "login duty:pa55word to smtp.example.com:587 for duty@example.com with abcdefgh12345678 POST"
    assert mask(text, url) == "login duty:*** to smtp.example.com:587 for duty@example.com with *** POST"
