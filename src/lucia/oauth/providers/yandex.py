"""Sign in with Yandex ID: OAuth 2.0 with PKCE; the user from ``login.yandex.ru/info``.

Yandex's user request takes the token in its own ``Authorization: OAuth <token>``
scheme. ``id`` is the account's id; ``email`` is ``default_email`` (``login:email``),
which Yandex describes only as the address to contact the user at, never as
verified, so ``email_verified`` is always False. The avatar URL is built from
``default_avatar_id`` unless Yandex says the user has none (``is_avatar_empty``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from urllib.parse import quote

import httpx

from lucia.oauth.client import OAuth2Tokens
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.core import ProviderUser
from lucia.oauth.providers.provider import SpecProvider
from lucia.oauth.providers.spec import json_path

__all__ = ["Yandex"]

#: https://yandex.com/dev/id/doc/en/user-information#avatar-access (200x200 pixels)
AVATAR_URL = "https://avatars.yandex.net/get-yapic/{}/islands-200"


class Yandex(SpecProvider):
    """Yandex accounts (``user.id`` is the Yandex id; ``email_verified`` is always False)."""

    spec = catalog_spec("yandex")

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        """The spec's user, with the avatar URL made from ``default_avatar_id``."""
        user = super().parse_user(tokens, responses)
        avatar_id = json_path(user.raw, "default_avatar_id")
        if json_path(user.raw, "is_avatar_empty") is not False or not isinstance(avatar_id, str):
            return user
        # The id holds a '/' ("31804/BYkogAC6AoB17bN1HKRFAyKiM4-1"): a path, kept.
        return dataclasses.replace(user, avatar_url=AVATAR_URL.format(quote(avatar_id, safe="/")))
