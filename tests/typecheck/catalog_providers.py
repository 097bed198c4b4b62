"""A user's code with the providers made from lucia's catalog (``Discord``, ``Auth0``...):
``mypy --strict`` must report the lines marked ``# wrong`` and no other (checked by
test_catalog_providers.py; never run). They are classes to a type checker, as the
providers with a module of their own are."""

from __future__ import annotations

from lucia.oauth import OAuthProvider, provider
from lucia.oauth.providers import (
    Auth0,
    Discord,
    GitLab,
    Keycloak,
    OIDCSpecProvider,
    Salesforce,
    SpecProvider,
    Spotify,
)


def built() -> list[OAuthProvider]:
    discord = Discord(
        client_id="client-id",
        client_secret="client-secret",
        redirect_uri="https://app.example/login/discord/callback",
    )
    spotify = Spotify("client-id", None, "https://app.example/cb", scopes=("user-read-email",))
    auth0 = Auth0("id", "secret", "https://app.example/cb", domain="example.us.auth0.com")
    gitlab = GitLab("id", "secret", "https://app.example/cb", timeout=5)
    keycloak = Keycloak("id", "secret", "https://app.example/cb", base_url="https://sso.example")
    salesforce = Salesforce("id", "secret", "https://app.example/cb", name="salesforce-eu")
    by_slug = provider("discord", client_id="id", client_secret=None, redirect_uri=None)
    return [discord, spotify, auth0, gitlab, keycloak, salesforce, by_slug]


def annotated(discord: Discord, auth0: Auth0) -> tuple[SpecProvider, OIDCSpecProvider]:
    return discord, auth0


class WorkGitLab(GitLab):
    name = "gitlab-work"


def wrong() -> None:
    Discord(client_id=42, client_secret="secret", redirect_uri=None)  # wrong
    Discord("id", "secret", "https://app.example/cb", timeout="5")  # wrong
    Auth0("id", "secret", "https://app.example/cb", domain=3)  # wrong
    spotify: Spotify = Discord("id", "secret", None)  # wrong
    print(Discord("id", "secret", None).get_usr)  # wrong
    WorkGitLab("id", "secret", "https://app.example/cb", scopes=42)  # wrong
    print(spotify)
