"""Fixtures for the notification tests: the real receivers (``receivers.py``) and policy files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.central.notify.receivers import Mailbox, WebhookReceiver


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box
