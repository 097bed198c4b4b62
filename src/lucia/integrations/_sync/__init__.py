# Generated from src/lucia/integrations/_async/__init__.py by scripts/generate_sync.py: do not edit.
"""The integrations' shared code, written once as async source (``_sync`` is generated)."""
