"""The central's process settings: environment variables with the ``FIELDWATCH_`` prefix, then the CLI.

``load_settings(**overrides)`` is the one way in: it reads the environment, applies the command line's
overrides, validates everything, and raises ``SettingsError`` whose lines each name the environment
variable that is wrong (``FIELDWATCH_PORT: Input should be a valid integer (got 'eighty')``). Nothing is
read at import time; the app factory gets a ``Settings`` and passes it down.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocols.records import LEVEL_BY_NAME, Level

ENV_PREFIX = "FIELDWATCH_"
DEFAULT_DATABASE = "sqlite:///fieldwatch-central.db"


class SettingsError(ValueError):
    """Settings that cannot work; one line per problem, each naming its environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    database: str = Field(
        default=DEFAULT_DATABASE, description="sqlite:///path (the default) or postgresql://host/db"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    mqtt: str | None = Field(default=None, description="mqtt://host:port to ingest from; none: HTTP only")
    mqtt_topic_prefix: str = Field(default="fieldwatch", min_length=1, pattern=r"^[^#+$][^#+]*$")
    mqtt_share_group: str = Field(default="central", min_length=1, pattern=r"^[^/#+]+$")
    mqtt_client_id: str = Field(
        default="", description="fixed per process (persistent session); default: host name and port"
    )
    mqtt_queue_size: int = Field(default=256, ge=1, description="incoming batches held before processing")
    max_body_bytes: int = Field(default=8 << 20, ge=1024, description="a larger request body gets 413")
    max_batch_bytes: int = Field(default=32 << 20, ge=1024, description="a batch's size once un-gzipped")
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600, description="a request body slower gets 408")
    max_channels_per_gateway: int = Field(
        default=10_000, ge=1, description="a batch that would register more for its gateway gets 422"
    )
    db_threads: int = Field(default=4, ge=1, le=64, description="worker threads (and connections)")
    db_max_waiting: int = Field(
        default=64, ge=0, description="requests that may wait for a busy database thread; more get 503"
    )
    silence_factor: float = Field(default=3.0, gt=1.0, description="silent after factor x heartbeat interval")
    default_heartbeat_interval_s: float = Field(default=60.0, gt=0)
    silence_check_interval_s: float = Field(default=15.0, gt=0)
    silence_alarm_level: int = Field(default=int(Level.ORANGE), ge=1, le=4, description="1-4 or blue..red")
    retention_days: float | None = Field(default=None, gt=0, description="raw readings older are deleted")
    retention_check_interval_s: float = Field(default=3600.0, gt=0)
    token_cache_s: float = Field(default=10.0, ge=0, description="how long a checked token stays trusted")
    session_idle_s: float = Field(default=1800.0, gt=0, description="a session unused this long ends")
    session_absolute_s: float = Field(
        default=43200.0, gt=0, description="a session ends this long after login"
    )
    login_delay_s: float = Field(
        default=1.0, ge=0, description="wait after a failed login, doubling each time"
    )
    login_max_delay_s: float = Field(default=60.0, ge=0)
    login_max_failures_per_user: int = Field(default=5, ge=1, description="then the username is locked")
    login_max_failures_per_client: int = Field(default=20, ge=1, description="then the address is locked")
    login_lockout_s: float = Field(
        default=3600.0, gt=0, description="a lockout lasts this long (or until lifted)"
    )
    stream_queue_size: int = Field(default=1000, ge=1, description="changes held per SSE subscriber")
    time_zone: str = Field(default="Asia/Shanghai", description="the command center's IANA time zone")
    map_tiles: str | None = Field(default=None, description="the console's basemap: a {z}/{x}/{y} tile URL")
    map_boundaries: Path | None = Field(default=None, description="GeoJSON outlines drawn on the map")
    base_url: str = Field(default="", description="the console's address for links in notifications")
    notify_file: Path | None = Field(default=None, description="the notification policy file")
    notify_lease_s: float = Field(default=60.0, ge=1, description="a claimed notification's lease")
    notify_retry_initial_s: float = Field(default=5.0, gt=0, description="the first retry's delay")
    notify_max_attempts: int = Field(default=12, ge=1, le=100, description="then a notification fails")
    log_level: str = Field(default="info", pattern=r"^(debug|info|warning|error)$")

    @field_validator("database")
    @classmethod
    def _known_database(cls, url: str) -> str:
        scheme = urlsplit(url).scheme
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("expected sqlite:///path or postgresql://host/database")
        if scheme == "sqlite" and not url.startswith("sqlite:///"):
            raise ValueError("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        return url

    @field_validator("silence_alarm_level", mode="before")
    @classmethod
    def _level_name(cls, value: Any) -> Any:
        """``orange`` as well as ``3``."""
        if isinstance(value, str) and value.strip().lower() in LEVEL_BY_NAME:
            return int(LEVEL_BY_NAME[value.strip().lower()])
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone name such as Asia/Shanghai") from None
        return name

    @field_validator("map_tiles")
    @classmethod
    def _tile_template(cls, url: str | None) -> str | None:
        if not url:
            return None
        if not all(part in url for part in ("{z}", "{x}", "{y}")):
            raise ValueError("expected a tile URL template with {z}, {x} and {y}")
        return url

    @field_validator("map_boundaries", mode="before")
    @classmethod
    def _readable_file(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not Path(str(value)).is_file():
            raise ValueError("no such file (expected a GeoJSON file of outlines)")
        return value

    @field_validator("mqtt")
    @classmethod
    def _mqtt_url(cls, url: str | None) -> str | None:
        if url is None or url == "":
            return None
        parts = urlsplit(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError("expected mqtt://host[:port]")
        return url

    @property
    def console_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    @property
    def mqtt_identifier(self) -> str:
        return self.mqtt_client_id or f"fieldwatch-central-{socket.gethostname()}-{self.port}"


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``env`` (default ``os.environ``) and ``overrides`` (the CLI); ``SettingsError``.

    Only variables that name a setting are read: other FieldWatch programs share the prefix.
    """
    environ = os.environ if env is None else env
    fields = Settings.model_fields
    from_env = {
        name: environ[ENV_PREFIX + name.upper()] for name in fields if ENV_PREFIX + name.upper() in environ
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings.model_validate({**from_env, **given})
    except ValidationError as e:
        lines = []
        for err in e.errors():
            key = str(err["loc"][0]) if err["loc"] else "settings"
            source = "--" + key.replace("_", "-") if key in given else ENV_PREFIX + key.upper()
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {message} (got {err.get('input')!r})")
        raise SettingsError("\n".join(lines)) from None
