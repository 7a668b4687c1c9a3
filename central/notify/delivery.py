"""Sending one message to one contact through Apprise: the one module that imports ``apprise``.

- ``deliver(contact, message)`` sends in a worker thread (Apprise is synchronous), bounded by a timeout,
  and answers ``Outcome(ok, detail)``: it never raises for a failed delivery, and its detail (Apprise's own
  reason, e.g. ``Failed to send JSON POST notification: Internal Server Error - error=500.``) has the
  URL's secrets masked. Apprise's own retries are off: the outbox's worker retries (``retry.py``).
- The message's stable id rides along where the service allows: services that take extra headers
  (JSON, form and XML webhooks, e-mail, ...) get ``X-FieldWatch-Notification-Id``; services with a
  payload of their own (JSON, form, XML) also get ``notification_id``, ``alarm_id``, ``level``, ``kind``
  and ``link`` in it.
- ``url_problem(url)`` asks Apprise, offline, whether it can use a URL; ``wants_short(contact)`` says
  whether a contact gets the SMS form (its ``sms`` key, else whether the service's messages are at most
  one SMS long).
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import logging
import re
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from central.notify.message import Message
from central.notify.policy import Contact

with warnings.catch_warnings():
    # Apprise's e-mail plugin imports imghdr, deprecated in Python 3.11 and 3.12 (3.13 has none: Apprise
    # shims it), and the test suite turns warnings into errors; so its plugins are loaded here (0.15 s), not
    # lazily at the first URL
    warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
    import apprise
    from apprise.manager_plugins import NotificationManager

    _manager: Any = NotificationManager()  # type: ignore[no-untyped-call]
    _manager.load_modules()

log = logging.getLogger(__name__)

ID_HEADER = "X-FieldWatch-Notification-Id"
SMS_MAX_BODY_CHARS = 160  # a service whose messages are at most this long is an SMS gateway
DEFAULT_TIMEOUT_S = 30.0
_DETAIL_MAX_CHARS = 300
_SEVERITY = {
    "info": apprise.NotifyType.INFO,
    "success": apprise.NotifyType.SUCCESS,
    "warning": apprise.NotifyType.WARNING,
    "failure": apprise.NotifyType.FAILURE,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    detail: str  # why not (or "" when delivered); never a secret of the URL


def _asset() -> apprise.AppriseAsset:
    return apprise.AppriseAsset(
        app_id="FieldWatch", app_desc="FieldWatch hazard warnings", secure_logging=True
    )


@functools.cache
def _schemes() -> frozenset[str]:
    return frozenset(_manager.schemas())


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def url_problem(url: str) -> str | None:
    """Why Apprise cannot use ``url`` (offline: it parses, it does not connect), or None."""
    scheme = _scheme(url)
    if not scheme:
        return "not an Apprise URL: expected service://..., e.g. json://host:port/path or mailto://..."
    if scheme not in _schemes():
        near = difflib.get_close_matches(scheme, sorted(_schemes()), n=1)
        hint = f" (did you mean {near[0]}://?)" if near else ""
        return f"Apprise has no service {scheme}://{hint}"
    try:
        plugin = apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=False)
    except Exception as e:
        return f"Apprise cannot use this {scheme}:// URL: {mask(str(e), url)}"
    if plugin is None:
        return f"Apprise cannot use this {scheme}:// URL: check it against Apprise's page for {scheme}://"
    return None


def wants_short(contact: Contact) -> bool:
    """Whether ``contact`` gets the short (SMS) form: its ``sms`` key, else what its service allows."""
    if contact.sms is not None:
        return contact.sms
    try:
        plugin = apprise.Apprise.instantiate(contact.url, asset=_asset())
    except Exception:  # a URL the loader did not check; delivery will say what is wrong
        return False
    return plugin is not None and 0 < int(plugin.body_maxlen) <= SMS_MAX_BODY_CHARS


def safe_url(url: str) -> str:
    """The URL as Apprise shows it with its secrets masked (for logs and the API), and tokens masked."""
    try:
        plugin: Any = apprise.Apprise.instantiate(url, asset=_asset())
    except Exception:
        plugin = None
    if plugin is None:
        return f"{_scheme(url) or '?'}://..."
    return mask(str(plugin.url(privacy=True)), url)  # Apprise leaves a webhook's path: it may hold a token


async def deliver(contact: Contact, message: Message, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Outcome:
    """Send ``message`` to ``contact`` in a worker thread; ``Outcome(ok, detail)``, never an exception."""
    try:
        # Apprise gives up at timeout_s itself; this margin only bounds a thread that would not return
        return await asyncio.wait_for(
            asyncio.to_thread(_send, contact.url, message, timeout_s), timeout_s + 5.0
        )
    except TimeoutError:
        return Outcome(False, f"no answer within {timeout_s:g} s")


def _send(url: str, message: Message, timeout_s: float) -> Outcome:
    try:
        tagged = _with_id(url, message)
        plugin: Any = apprise.Apprise.instantiate(tagged, asset=_asset(), suppress_exceptions=False)
        if plugin is None:
            return Outcome(False, f"Apprise cannot use the contact's {_scheme(url)}:// URL")
        sender = apprise.Apprise(asset=_asset())
        sender.add(plugin)
        result = sender.notify(
            body=message.body,
            title=message.title,
            notify_type=_SEVERITY[message.severity],
            body_format=apprise.NotifyFormat.TEXT,
            timeout=timeout_s,
        )
        if result:
            log.debug("notification %s delivered to %s", message.id, plugin.url(privacy=True))
            return Outcome(True, "")
        return Outcome(False, mask(_reason(result), url))
    except Exception as e:  # a delivery failure is an outcome, whatever Apprise raised
        return Outcome(False, mask(f"{type(e).__name__}: {e}", url))


def _with_id(url: str, message: Message) -> str:
    """``url`` with the message's id (and fields) added as the service's extra headers and payload."""
    cls = _manager[_scheme(url)]
    kwargs: dict[str, Any] = getattr(cls, "template_kwargs", {}) or {}
    extra: dict[str, str] = {}
    if "headers" in kwargs:
        extra[f"+{ID_HEADER}"] = message.id
    if "payload" in kwargs:
        extra |= {f":{k}": v for k, v in message.fields.items()}
    if not extra:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(extra)}"


def _reason(result: Any) -> str:
    """Apprise's warnings and errors for a failed send, in one line."""
    if getattr(result, "status", None) == apprise.AppriseResultStatus.TIMEOUT:
        return "timed out"
    said = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    text = "; ".join(dict.fromkeys(s.strip() for s in said if s.strip())) or "Apprise reported a failure"
    return text[:_DETAIL_MAX_CHARS]


_SECRET_MIN_CHARS = 8  # tokens and keys are longer; shorter parts are words (POST, hook, text)
_HOSTLIKE = re.compile(r"^([\w.+-]+@)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$|^\d{1,5}$")  # hosts, addresses, ports


def mask(text: str, url: str) -> str:
    """``text`` with every part of ``url`` that may be a secret (the password, tokens, keys) replaced.

    Host names, IP and e-mail addresses, ports and query keys stay: they say where a delivery failed.
    """
    parts = urlsplit(url)
    secrets = {parts.password or ""}
    pieces = re.split(r"[/:@,+;]", f"{parts.netloc}/{parts.path}")
    pieces += [value for _, _, value in (q.partition("=") for q in parts.query.split("&"))]
    secrets |= {p for p in pieces if len(p) >= _SECRET_MIN_CHARS and not _HOSTLIKE.match(p)}
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", text)
    return text
