"""The OAuth I/O, written once as async code; ``lucia.oauth._sync`` is generated from it."""
