"""The command-center console: the page at ``/``, its assets under ``/console/``, and ``/docs`` offline.

The console is one more client of the public API and its live stream: the page (``static/``, plain ES
modules and vendored libraries, no build step) reads only what ``/api/v1`` serves. ``docs/console.md``
describes it.
"""

from central.console.routes import mount

__all__ = ["mount"]
