"""Site files: one YAML file per gateway, written by the technician who installs it.

A site file names the gateway, the site it watches (type and location), where its data goes (uplink),
its outbox, and its buses with the devices on each. Devices name a hardware profile by its file stem
(``hw_profiles/gas_lel_catalytic.yaml`` is ``gas_lel_catalytic``) and may override the profile's rules.
Cross-file checks (the profile exists, its protocol suits the bus, overridden points exist) live in
``protocols.config.bind_site``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from protocols.modelbase import Identifier, StrictModel, at, cross_check, knows
from protocols.rules import LevelName, Rule, check_unique_rule_names

SiteType = Literal[
    "mine_slope", "tank_farm", "forest_tower", "hydrology", "geohazard", "tailings_dam", "reservoir",
    "hazardous_chemicals_warehouse", "fireworks_storage", "other",
]  # fmt: skip
ZONE_NAME = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"  # an IANA name's shape (the central checks it)
Parity = Literal["N", "E", "O"]
STANDARD_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)


class Location(StrictModel):
    latitude_deg: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude_deg: float = Field(ge=-180, le=180, allow_inf_nan=False)
    altitude_m: float | None = Field(default=None, allow_inf_nan=False)


class Gateway(StrictModel):
    id: Identifier
    name: str = ""
    heartbeat_interval_s: float = Field(default=60.0, ge=1, le=3600)


class SiteInfo(StrictModel):
    id: Identifier
    name: str = Field(min_length=1)
    type: SiteType
    latitude_deg: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude_deg: float = Field(ge=-180, le=180, allow_inf_nan=False)
    township: str = ""
    contact_person: str = Field(default="", max_length=100, description="who to call at the site")
    contact_phone: str = Field(default="", max_length=40, pattern=r"^[0-9+()\- ]*$")
    time_zone: str | None = Field(
        default=None, max_length=64, pattern=ZONE_NAME, description="IANA name; default: the central's"
    )


class Device(StrictModel):
    id: Identifier
    profile: str = Field(min_length=1, description="hardware profile file stem")
    description: str = ""
    enabled: bool = True
    unit_id: int | None = Field(
        default=None, ge=1, le=247, description="Modbus only; default from the profile"
    )
    poll_interval_ms: int | None = Field(default=None, ge=10, description="overrides the profile's default")
    location: Location | None = None
    origin: Location | None = Field(default=None, description="GNSS only: the reference for displacement")
    rules: dict[Identifier, tuple[Rule, ...]] = Field(
        default_factory=dict, description="per point: rules that replace the profile's rules of the same name"
    )

    @cross_check
    def _unique_rules(self) -> list[str]:
        problems: list[str] = []
        for point, rules in self.rules.items():
            problems += check_unique_rule_names(rules, key=f"rules.{point}")
        return problems


class SerialSettings(StrictModel):
    port: str = Field(min_length=1)
    baud: int = 9600
    data_bits: Literal[7, 8] = 8
    parity: Parity = "N"
    stop_bits: Literal[1, 2] = 1

    @cross_check
    def _standard_baud(self) -> list[str]:
        if self.baud not in STANDARD_BAUDS:
            return [at("baud", f"expected one of {', '.join(map(str, STANDARD_BAUDS))} (got {self.baud})")]
        return []

    @property
    def bits_per_char(self) -> int:
        """Start bit + data bits + parity bit + stop bits: 11 for 8E1, 10 for 8N1."""
        return 1 + self.data_bits + (0 if self.parity == "N" else 1) + self.stop_bits


class PollingSettings(StrictModel):
    timeout_ms: int = Field(default=500, ge=10, le=60_000)
    retries: int = Field(default=1, ge=0, le=10)
    offline_after_failures: int = Field(default=3, ge=1, le=100)
    offline_retry_s: float = Field(default=30.0, gt=0, le=3600)


class BusBase(StrictModel):
    name: Identifier
    devices: tuple[Device, ...] = Field(min_length=1)


class RtuBus(BusBase, SerialSettings, PollingSettings):
    type: Literal["rtu"]
    baud: int = 19200
    parity: Parity = "E"
    turnaround_ms: float = Field(
        default=0.0, ge=0, description="extra silence after each answer (slow slaves)"
    )


class TcpBus(BusBase, PollingSettings):
    type: Literal["tcp"]
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    timeout_ms: int = Field(default=1000, ge=10, le=60_000)


class SerialLineBus(BusBase, SerialSettings):
    type: Literal["serial_line"]
    devices: tuple[Device, ...] = Field(min_length=1, max_length=1)
    reopen_max_s: float = Field(default=30.0, gt=0, le=3600, description="cap of the reopen backoff")


Bus = Annotated[RtuBus | TcpBus | SerialLineBus, Field(discriminator="type")]
AnyBus = RtuBus | TcpBus | SerialLineBus


class HttpUplink(StrictModel):
    type: Literal["http"]
    url: str = Field(pattern=r"^https?://", description="the central's base URL")
    token_env: str | None = Field(
        default="FIELDWATCH_TOKEN", description="environment variable with the token"
    )
    token_file: str | None = None
    verify_tls: bool = True
    timeout_s: float = Field(default=30.0, gt=0)


class MqttUplink(StrictModel):
    type: Literal["mqtt"]
    url: str = Field(pattern=r"^mqtts?://", description="the broker, mqtt://host:port")
    topic_prefix: str = "fieldwatch"
    username: str | None = None
    password_env: str | None = None
    keepalive_s: int = Field(default=60, ge=5, le=3600)
    ack_timeout_s: float = Field(default=30.0, gt=0, le=3600, description="wait for the central's ack")


class Forwarding(StrictModel):
    max_batch_rows: int = Field(default=5000, ge=1, le=100_000)
    backlog_rows_per_s: float = Field(default=2000.0, gt=0, description="rate budget for the backlog")
    retry_max_s: float = Field(default=60.0, gt=0, le=3600, description="cap of the send backoff")
    send_interval_ms: int = Field(
        default=1000, ge=0, le=600_000, description="readings wait this long for company; events go at once"
    )
    live_window_s: float = Field(
        default=60.0, gt=0, description="rows committed this recently are the live tail, older ones backlog"
    )


Uplink = Annotated[HttpUplink | MqttUplink, Field(discriminator="type")]


class Outbox(StrictModel):
    path: str = Field(default="outbox.db", description="relative to the site file's folder, or absolute")
    max_bytes: int = Field(default=1 << 30, ge=1 << 20)
    synchronous: Literal["full", "normal"] = "full"
    commit_interval_ms: int = Field(default=200, ge=1, le=60_000)
    commit_rows: int = Field(default=500, ge=100, le=100_000)
    thin_keep_every: int = Field(
        default=4, ge=2, le=1000, description="when full, keep every k-th old reading"
    )


class Condition(StrictModel):
    channel: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*/[a-z0-9][a-z0-9_\-]*$", description="device/point")
    rule: Identifier
    min_level: LevelName = "blue"


class CombinedRule(StrictModel):
    """A joint warning: raised at ``level`` while every condition's rule stands at least at its level."""

    name: Identifier
    level: LevelName
    all_of: tuple[Condition, ...] = Field(min_length=2)
    message: str = ""


class SiteFile(StrictModel):
    gateway: Gateway
    site: SiteInfo
    uplink: Uplink
    forwarding: Forwarding = Forwarding()
    outbox: Outbox = Outbox()
    profiles_dirs: tuple[str, ...] = Field(
        default=(), description="extra folders searched for profiles before the shipped ones"
    )
    buses: tuple[Bus, ...] = Field(min_length=1)
    combined_rules: tuple[CombinedRule, ...] = ()

    @cross_check
    def _unique_buses(self) -> list[str]:
        problems: list[str] = []
        seen_bus: dict[str, int] = {}
        seen_port: dict[str, int] = {}
        for b, bus in enumerate(self.buses):
            if knows(bus, "name"):
                if bus.name in seen_bus:
                    problems.append(
                        at(
                            f"buses[{b}].name",
                            f"bus name {bus.name!r} is used twice (also buses[{seen_bus[bus.name]}])",
                        )
                    )
                seen_bus.setdefault(bus.name, b)
            if isinstance(bus, RtuBus | SerialLineBus) and knows(bus, "port"):
                if bus.port in seen_port:
                    problems.append(
                        at(
                            f"buses[{b}].port",
                            f"serial port {bus.port} is also used by buses[{seen_port[bus.port]}]",
                        )
                    )
                seen_port.setdefault(bus.port, b)
        return problems

    @cross_check
    def _unique_devices(self) -> list[str]:
        problems: list[str] = []
        seen_dev: dict[str, tuple[int, int]] = {}
        for b, bus in enumerate(self.buses):
            for d, dev in enumerate(bus.devices if knows(bus, "devices") else ()):
                if not knows(dev, "id"):
                    continue
                if dev.id in seen_dev:
                    ob, od = seen_dev[dev.id]
                    problems.append(
                        at(
                            f"buses[{b}].devices[{d}].id",
                            f"device id {dev.id!r} is used twice (also buses[{ob}].devices[{od}])",
                        )
                    )
                seen_dev.setdefault(dev.id, (b, d))
        return problems

    @cross_check
    def _unique_combined_rules(self) -> list[str]:
        problems: list[str] = []
        seen_rule: set[str] = set()
        for i, rule in enumerate(self.combined_rules):
            if not knows(rule, "name"):
                continue
            if rule.name in seen_rule:
                message = f"combined rule {rule.name!r} is defined twice"
                problems.append(at(f"combined_rules[{i}].name", message))
            seen_rule.add(rule.name)
        return problems
