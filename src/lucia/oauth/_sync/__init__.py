# Generated from src/lucia/oauth/_async/__init__.py by scripts/generate_sync.py: do not edit.
"""The OAuth I/O, written once as async code; ``lucia.oauth._sync`` is generated from it."""
