"""Ingest: batches in over HTTP (``central.api.routers.ingest``) or MQTT (``central.ingest.mqtt``), one path
to the store (``central.ingest.service``)."""
