"""``fieldwatch-central serve``: run the aggregator (HTTP API, and MQTT ingest when ``--mqtt`` is set)."""

from __future__ import annotations

import argparse
import signal
import sys

import uvicorn

from central.app import create_app
from central.notify.policyfile import load_policies
from central.settings import load_settings

NAME = "serve"
HELP = "serve the API (and ingest from MQTT with --mqtt)"
GRACEFUL_SHUTDOWN_S = 5  # open event streams would otherwise hold a shutdown forever


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", help="sqlite:///path (default) or postgresql://host/db")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--mqtt", help="mqtt://host:port: also ingest batches from this broker")
    parser.add_argument("--notify", metavar="FILE", help="the notification policy file (checked at start)")
    parser.add_argument("--base-url", help="the console's address, for links in notifications")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(
        database=args.database,
        host=args.host,
        port=args.port,
        mqtt=args.mqtt,
        notify_file=args.notify,
        base_url=args.base_url,
    )
    if settings.notify_file is not None:
        load_policies(settings.notify_file)  # ConfigError: every problem with its line, exit 2
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # the entry point configured logging already
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
    )
    server = uvicorn.Server(config)
    # uvicorn shuts down on SIGTERM, then restores the handler it found and raises the signal again; with
    # the default handler that kills the process after a clean stop, so systemd would report "killed".
    # A no-op handler here makes that re-raise harmless: a SIGTERM stop exits 0.
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not server.started:
        print("fieldwatch-central: the server did not start (see the log above)", file=sys.stderr)
        return 1
    return 0
