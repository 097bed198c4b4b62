"""The lucia demo app, started by ``lucia demo`` (needs the ``demo`` extra).

A small Starlette site on SQLite: sign up and sign in with a password, sign in
with every provider whose ``LUCIA_<SLUG>_CLIENT_ID`` and settings are in the
environment (and, in development mode, a local stand-in provider), link and
unlink sign-in methods, see and revoke sessions.
"""

from lucia.demo.app import DemoProvider, create_app, providers_from_env, run

__all__ = ["DemoProvider", "create_app", "providers_from_env", "run"]
