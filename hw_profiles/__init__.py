"""The shipped hardware profiles (data, not code): one ``<name>.yaml`` per device model, and ``README.md``.

This file makes ``hw_profiles`` a regular package so ``importlib.resources.files("hw_profiles")`` finds the
folder: as a namespace package under setuptools' editable install, Python 3.11 lists the editable finder's
path hook among its paths and ``files()`` fails with "MultiplexedPath only supports directories".
"""
