"""FieldWatch's pure core, shared by the edge and the central.

Bytes and values in, values and bytes out: no I/O, no asyncio, no logging, no clocks. The modules:

- ``errors``: the whole error tree, in one docstring;
- ``quality``: reading quality bit flags;
- ``records``: readings, events, channel keys, and the columnar reading block;
- ``codecs``: Modbus register data types and word orders;
- ``planner``: merges a device's points into the fewest read requests;
- ``framing``: the ``NEED_DATA`` sentinel and ``LineFramer``, a bounded line splitter (under ``lineproto``);
- ``nmea`` (with its field codecs in ``nmea_fields``) and ``lineproto``: sans-I/O framers and parsers for
  serial line sensors;
- ``geodesy``: WGS84 positions to north/east/up millimetres from an origin;
- ``units``: the units a profile may name;
- ``rules``, ``profile``, ``site``: the hardware-profile and site-file models;
- ``yamlsource`` and ``config``: YAML text with line numbers, and validation errors that name file:line: key;
- ``wire``: the edge -> central batch schema, version 1.
"""
