"""``fieldwatch-demo``: a county's three sites, an incident at each, on one machine.

The demo runs FieldWatch as it runs in the field, as separate processes on real transports: the central
(``fieldwatch-central serve`` on SQLite in a temporary folder), per scenario a simulator
(``fieldwatch-sim run``: Modbus slaves behind RS-485 wire emulators, TCP servers, ptys) and a gateway
(``fieldwatch-edge run``) whose uplink goes through a TCP proxy the demo can cut. It never imports
``edge`` or ``central``: it talks to the central over HTTP and to the gateways through their command line.

- ``procs``: child processes, each in its own session with its own log;
- ``proxy``: the cuttable uplink;
- ``api``: the central's query API (httpx) and its event stream;
- ``timebase``: story time, the gateways' fast-forwarded clock, and the mapping between them;
- ``accounting``: lost and duplicated rows, from what the gateways produced and the central holds;
- ``outcome``: the scenarios' expected alarms against the central's alarm timelines;
- ``view``: the live terminal view (rich) and the final summary;
- ``orchestra``: the run itself; ``cli``: the command line.
"""
