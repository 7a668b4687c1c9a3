"""The acquisition: one named task per bus, all in one TaskGroup, each under a supervisor.

``Acquisition(site, sink, clock)`` builds a ``ModbusBus`` per RTU port and per TCP endpoint and a
``SerialLine`` per serial line sensor; ``await acquisition.run()`` runs them until cancelled (or for
``duration_s`` seconds of the clock's time), and ``statistics()`` is the snapshot the heartbeat carries,
keyed by bus name. The gateway agent runs ``run()`` as one task of its own TaskGroup; ``fieldwatch-edge
poll`` runs it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from edge.acquisition.activity import BusActivity
from edge.acquisition.modbus_bus import ModbusBus
from edge.acquisition.serial_line import SerialLine
from edge.clock import Clock
from edge.pipeline import Sink
from edge.supervisor import supervise
from protocols.config import BoundSite
from protocols.site import RtuBus, SerialLineBus, TcpBus


class Acquisition:
    def __init__(
        self,
        site: BoundSite,
        sink: Sink,
        clock: Clock | None = None,
        *,
        on_idle: Callable[[], None] | None = None,
        on_attributes: Callable[[str, dict[str, str | None]], None] | None = None,
    ) -> None:
        """``on_idle``: called when every Modbus bus task has polled what was due and sleeps.
        ``on_attributes(device_id, attributes)``: a device's text points were read and changed."""
        self.site = site
        self.clock = clock or Clock()
        self.activity = BusActivity(on_idle)
        index = site.channel_index()
        self.buses: list[ModbusBus | SerialLine] = []
        for bus in site.site.buses:
            devices = site.devices_on(bus.name)
            if isinstance(bus, RtuBus | TcpBus):
                self.buses.append(
                    ModbusBus(
                        bus,
                        devices,
                        sink=sink,
                        clock=self.clock,
                        gateway_id=site.gateway_id,
                        channel_index=index,
                        activity=self.activity,
                        on_attributes=on_attributes,
                    )
                )
            elif isinstance(bus, SerialLineBus) and devices and devices[0].device.enabled:
                self.buses.append(
                    SerialLine(
                        bus,
                        devices[0],
                        sink=sink,
                        clock=self.clock,
                        channel_index=index,
                        gateway_id=site.gateway_id,
                    )
                )

    async def run(self, duration_s: float | None = None) -> None:
        """Run every bus task until cancelled, or until ``duration_s`` of clock time has passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(None if duration_s is None else duration_s / self.clock.speed):
                async with asyncio.TaskGroup() as group:
                    for bus in self.buses:
                        name = f"bus {bus.name}"
                        group.create_task(supervise(name, bus.run, restarts=bus.restarts), name=name)

    def statistics(self) -> dict[str, Any]:
        return {bus.name: bus.statistics() for bus in self.buses}
