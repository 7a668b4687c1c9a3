"""``/metrics`` in the Prometheus text format (0.0.4), from the components' ``statistics()`` snapshots.

Counters are ``fieldwatch_central_<component>_<name>_total``; gauges from the store (alarms by status
and level, gateways by status, channels) are read when the page is asked for. Label values are bounded
(transports, statuses, levels): never a gateway or channel id.
"""

from __future__ import annotations

from typing import Any

from central.services import Services

PREFIX = "fieldwatch_central"


def _line(name: str, value: float | int | bool, labels: dict[str, str] | None = None) -> str:
    text = ",".join(f'{k}="{v}"' for k, v in (labels or {}).items())
    return f"{name}{{{text}}} {float(value):g}" if text else f"{name} {float(value):g}"


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _counters(out: list[str], component: str, stats: dict[str, Any]) -> None:
    for key, value in sorted(stats.items()):
        if isinstance(value, bool):
            name = f"{PREFIX}_{component}_{key}"
            _family(out, name, "gauge", f"{component}: {key} (1 yes, 0 no)")
            out.append(_line(name, value))
        elif isinstance(value, int | float):
            name = f"{PREFIX}_{component}_{key}_total"
            _family(out, name, "counter", f"{component}: {key.replace('_', ' ')}")
            out.append(_line(name, value))


def render(services: Services, counts: dict[str, Any]) -> str:
    out: list[str] = []
    for name, by_transport in sorted(services.ingestor.statistics().items()):
        family = f"{PREFIX}_ingest_{name}_total"
        _family(out, family, "counter", f"ingest: {name.replace('_', ' ')}")
        out += [_line(family, n, {"transport": t}) for t, n in sorted(by_transport.items())]
    stream = services.hub.statistics()
    subscribers = stream.pop("subscribers", 0)
    _counters(out, "stream", stream)
    _family(out, f"{PREFIX}_stream_subscribers", "gauge", "stream: live subscribers now")
    out.append(_line(f"{PREFIX}_stream_subscribers", subscribers))
    store = services.store
    _family(
        out, f"{PREFIX}_store_busy_refusals_total", "counter", "store: requests refused, every thread busy"
    )
    out.append(_line(f"{PREFIX}_store_busy_refusals_total", store.busy_refusals))
    _family(out, f"{PREFIX}_store_calls_under_way", "gauge", "store: request calls running or waiting now")
    out.append(_line(f"{PREFIX}_store_calls_under_way", store.under_way))
    _counters(out, "auth", services.auth.statistics())
    _counters(out, "silence", services.silence.statistics())
    if services.retention is not None:
        _counters(out, "retention", services.retention.statistics())
    if services.mqtt is not None:
        _counters(out, "mqtt", services.mqtt.statistics())
    if services.relay is not None:
        _counters(out, "relay", services.relay.statistics())
    if services.notifier is not None:
        _counters(out, "notify", services.notifier.statistics())
        _family(out, f"{PREFIX}_notify_policy_version", "gauge", "notify: the policy text's version in use")
        out.append(_line(f"{PREFIX}_notify_policy_version", services.notifier.outbox.version))
    _family(out, f"{PREFIX}_alarms", "gauge", "alarms not closed, by status and level")
    for (status, level), n in sorted(counts["alarms"].items()):
        out.append(_line(f"{PREFIX}_alarms", n, {"status": status, "level": str(level)}))
    _family(out, f"{PREFIX}_gateways", "gauge", "gateways by status")
    for status, n in sorted(counts["gateways"].items()):
        out.append(_line(f"{PREFIX}_gateways", n, {"status": status}))
    _family(out, f"{PREFIX}_channels", "gauge", "registered channels")
    out.append(_line(f"{PREFIX}_channels", counts["channels"]))
    return "\n".join(out) + "\n"
