"""Edge acquisition: the tasks that talk to sensors (Modbus RTU and TCP buses, serial line sensors).

- ``runner.Acquisition``: every bus of a site in one TaskGroup, each task under ``edge.supervisor.supervise``;
- ``modbus_bus.ModbusBus``: one RS-485 port or one TCP endpoint, one connection, devices polled in turn;
- ``serial_line.SerialLine``: one NMEA or line-protocol sensor on a serial port, reopened when it goes;
- ``schedule.BusSchedule``: per-request poll intervals merged into one schedule that skips, never queues;
- ``health.DeviceHealth``: offline after N failures, jittered retry, one event and one log line each way;
- ``modbus_plan``: a device's read plan compiled once with its decoders and channel indexes;
- ``sensor_values``: NMEA sentences and text lines to value groups (pure);
- ``stats``: counters and latency percentiles for the heartbeat;
- ``modbus_client`` and ``serial_port``: the adapters over pymodbus and pyserial (the only modules that
  import them).

``docs/acquisition.md`` describes the model, the statistics and the ``poll``/``probe`` commands.
"""

from edge.acquisition.runner import Acquisition

__all__ = ["Acquisition"]
