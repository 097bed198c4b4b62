"""lucia: authentication for Python web apps.

Users, the keys that sign them in, server-side sessions carried in a cookie or
a bearer token, passwords done right, and (in ``lucia.oauth``) sign-in with
OAuth 2.0 and OpenID Connect providers.
"""

from lucia import errors
from lucia.__about__ import __version__
from lucia.cookies import Cookie, CookieAttributes
from lucia.core import AsyncLucia, Lucia
from lucia.csrf import verify_request_origin
from lucia.errors import *  # noqa: F403  # every public error, listed once in lucia.errors.__all__
from lucia.models import Key, Session, Token, User

__all__ = [
    "AsyncLucia",
    "Cookie",
    "CookieAttributes",
    "Key",
    "Lucia",
    "Session",
    "Token",
    "User",
    "__version__",
    "verify_request_origin",
]
__all__ += errors.__all__
