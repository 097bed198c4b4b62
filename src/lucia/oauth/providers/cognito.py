"""Sign in with Amazon Cognito: OpenID Connect against a user pool.

Two hosts are involved, as Cognito documents them: the user pool's *domain*
(its prefix domain ``https://{prefix}.auth.{region}.amazoncognito.com`` or a
custom domain) serves ``/oauth2/authorize``, ``/oauth2/token``,
``/oauth2/userInfo`` and ``/oauth2/revoke``; the ID tokens' issuer is
``https://cognito-idp.{region}.amazonaws.com/{user_pool_id}``, whose keys are
at ``/.well-known/jwks.json`` under it. All are built in (no discovery round
trip). Cognito's ``email_verified`` is the JSON ``true`` in its documented ID
tokens, and may arrive as the string ``"true"`` (user attributes are strings in
Cognito): both read as verified, anything else as not. A refresh answers a new
access and ID token (the refresh token stays the same); ``/oauth2/revoke``
takes refresh tokens only, and only when the app client has token revocation
turned on.
"""

from __future__ import annotations

import re

from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider
from lucia.oauth.providers.spec import Endpoints

__all__ = ["Cognito"]

# An AWS region (us-east-1, us-gov-west-1, cn-north-1): no dot, so the issuer's host
# stays cognito-idp.{region}.amazonaws.com and never becomes another service's
# (cognito-idp.s3.amazonaws.com is an S3 bucket's).
_REGION = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}")
# A pool id is "{region}_{id}" (AWS's pattern for the id part: letters and digits).
_POOL_ID = re.compile(r"[0-9A-Za-z]+")


class Cognito(OIDCSpecProvider):
    """Users of one Cognito user pool::

        Cognito(..., domain="example.auth.eu-west-1.amazoncognito.com",
                region="eu-west-1", user_pool_id="eu-west-1_AbCdEf123")

    ``user.id`` is the pool's ``sub`` (a UUID; never the user name, which can be
    reassigned)."""

    spec = catalog_spec("cognito")

    def resolve_endpoints(self) -> Endpoints:
        """The spec's endpoints, once ``region`` is an AWS region and ``user_pool_id`` a
        pool of that region (``ValueError`` naming the parameter, not its value)."""
        region, pool = self.parameters["region"], self.parameters["user_pool_id"]
        if not _REGION.fullmatch(region):
            raise ValueError("region must be an AWS region such as eu-west-1")
        prefix, _, pool_id = pool.partition("_")
        if prefix != region or not _POOL_ID.fullmatch(pool_id):
            raise ValueError("user_pool_id must be a pool of the region: {region}_{id}")
        return super().resolve_endpoints()
