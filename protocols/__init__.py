"""FieldWatch's pure core, shared by the edge and the central.

Bytes and values in, values and bytes out: no I/O, no asyncio, no logging, no clocks. The modules:

- ``errors``: the whole error tree, in one docstring;
- ``quality``: reading quality bit flags;
- ``records``: readings, events, channel keys, and the columnar reading block;
- ``codecs``: Modbus register data types and word orders, one value at a time; ``codecs_block``: the
  compiled decoder of one whole answer (the acquisition hot path);
- ``planner``: merges a device's points into the fewest read requests; ``bustiming``: what a read costs
  on an RTU line;
- ``framing``: the ``NEED_DATA`` sentinel and ``LineFramer``, a bounded line splitter (under ``lineproto``);
- ``nmea`` (with its field codecs in ``nmea_fields``) and ``lineproto``: sans-I/O framers and parsers for
  serial line sensors;
- ``geodesy``: WGS84 positions to north/east/up millimetres from an origin;
- ``units``: the units a profile may name;
- ``modelbase``: the frozen, strict base model and the convention for errors that name a key;
- ``rules``, ``profile``, ``site``: the hardware-profile and site-file models;
- ``yamlsource`` and ``config``: YAML text with line numbers, and validation errors that name file:line: key;
- ``wire``: the edge -> central batch schema, version 1.
"""
