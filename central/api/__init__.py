"""The HTTP API: ``/api/v1`` for gateways and the command center, ``/healthz``, ``/metrics``."""
