"""Async source of lucia's core; ``lucia/_sync`` is generated from it (do not import directly)."""
