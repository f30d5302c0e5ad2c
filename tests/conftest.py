"""Fixtures come from the ``duban_archive.testing`` pytest plugin (see setup.py)."""
