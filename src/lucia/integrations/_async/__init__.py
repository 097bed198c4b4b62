"""The integrations' shared code, written once as async source (``_sync`` is generated)."""
