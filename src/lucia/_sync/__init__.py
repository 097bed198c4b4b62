# Generated from src/lucia/_async/__init__.py by scripts/generate_sync.py: do not edit.
"""Async source of lucia's core; ``lucia/_sync`` is generated from it (do not import directly)."""
