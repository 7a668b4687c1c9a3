"""Uplinks: how batches reach the central. ``base`` is the interface and its errors; ``http`` (httpx) and
``mqtt`` (aiomqtt: the only edge module that imports it) are the two transports a site file can choose."""
