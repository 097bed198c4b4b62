"""What ``lucia.oauth`` exports: every error a sign-in can raise, so apps catch them
without reaching into ``lucia.oauth.flow`` (issue 14, item 18)."""

from __future__ import annotations

import inspect

import lucia.oauth
import lucia.oauth.errors
import lucia.oauth.flow
import lucia.oauth.oidc
from lucia.errors import OAuthError


def test_the_flows_errors_import_from_lucia_oauth() -> None:
    from lucia.oauth import (  # noqa: F401  (the import is the test)
        IdentityInUseError,
        InvalidCallbackError,
        InvalidStateError,
        IssuerMismatchError,
        LinkMismatchError,
        LinkReauthenticationRequiredError,
        ProviderDeniedError,
        ProviderFailedError,
        SignInError,
        UnknownProviderError,
    )


def test_every_oauth_error_class_is_exported_from_lucia_oauth() -> None:
    """A new error added to the flow, the OpenID checks or the client is exported too."""
    for module in (lucia.oauth.flow, lucia.oauth.oidc, lucia.oauth.errors):
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, OAuthError):
                assert name in lucia.oauth.__all__, f"{module.__name__}.{name}"
                assert getattr(lucia.oauth, name) is value
    assert set(lucia.oauth.__all__) <= set(dir(lucia.oauth))
