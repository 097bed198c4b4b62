"""``lucia_purge``: see its module."""
