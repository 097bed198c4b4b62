"""Framework integrations: ``lucia.integrations.starlette`` and ``lucia.integrations.fastapi``.

Each reads the session once per request (cookie or bearer token), re-sets or
clears the session cookie, refuses cross-site unsafe requests, and mounts the
OAuth sign-in routes and a POST sign-out route. Import the submodule for your
framework; this package imports no framework itself.
"""
