"""FieldWatch edge: the gateway agent (acquisition, detection, outbox, uplink)."""
