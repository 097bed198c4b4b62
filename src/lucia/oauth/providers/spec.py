"""A provider as data: ``ProviderSpec`` and its parts, and the pure functions that read them.

A ``ProviderSpec`` says everything lucia needs to sign a user in with a
provider: its endpoints (URL templates with named ``parameters`` such as
``{tenant}``), scopes, PKCE, how the client authenticates at the token
endpoint, how the provider reports errors, how its user is fetched
(``UserInfoRequest``) and read (``UserFields``), and how far its email can be
trusted (``email``). ``SpecProvider`` / ``OIDCSpecProvider``
(``lucia.oauth.providers.provider``) turn one into a working provider.

Nothing here does I/O. See docs/oauth/add-a-provider.md.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from lucia.oauth.client import ErrorConvention, TokenEndpointAuth
from lucia.oauth.errors import OAuthResponseError
from lucia.oauth.providers.core import ProviderUser

__all__ = [
    "OIDC_USER_FIELDS",
    "EmailPolicy",
    "Endpoints",
    "ErrorConvention",
    "Parameter",
    "ParameterKind",
    "Pkce",
    "Protocol",
    "ProviderSpec",
    "UserFields",
    "UserInfoRequest",
    "check_parameter",
    "fill_template",
    "json_path",
    "path_present",
    "read_user",
    "template_names",
]

Protocol = Literal["oauth2", "oidc"]
"""``"oidc"``: OpenID Connect, the user comes from a validated ID token (and UserInfo);
``"oauth2"``: plain OAuth 2.0, the user comes from user-info requests."""

Pkce = Literal["S256", "s256", "none"]
"""``"S256"``: lucia sends an S256 code challenge (RFC 7636); ``"s256"``: the same,
with ``code_challenge_method`` spelled in lowercase, for a provider that documents it
so (VK ID); ``"none"``: no PKCE."""

EmailPolicy = Literal["flag", "verified", "unverified", "none"]
"""How ``ProviderUser.email_verified`` is decided; never guessed.

- ``"flag"``: from the provider's own per-address flag (``UserFields.email_verified``),
  True only when it is the JSON ``true`` (or the string ``"true"`` with
  ``UserFields.string_booleans``);
- ``"verified"``: True for any address, because the provider documents that
  every address it returns is verified;
- ``"unverified"``: always False (the provider returns addresses it has not verified,
  or says nothing about it);
- ``"none"``: the provider gives no email: ``email`` is None, ``email_verified`` False.
"""

ParameterKind = Literal["host", "url", "token", "secret"]
"""What a ``Parameter`` value may be, checked at construction:

- ``"host"``: a DNS host name, optionally with ``:port`` (``dev-123.okta.com``);
- ``"url"``: an ``https://`` URL of a plain host (or an IP literal) with an optional
  path of plain words (no ``.`` or ``..`` segment), no query, fragment, credentials,
  spaces or backslashes; trailing slashes are dropped (``http://`` only for loopback
  hosts, for local development);
- ``"token"``: a plain word of ``A-Z a-z 0-9 . _ -``, but not ``.`` or ``..`` (a tenant,
  realm or region);
- ``"secret"``: any non-empty string (a private key), never used in a template
  and never shown.

So a value can never add a path segment, a query or another host to an endpoint.
"""

_HOST_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*(?::[0-9]{{1,5}})?")
_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,128}")
_LOOPBACK = ("localhost",)
_DOT_SEGMENTS = frozenset({".", ".."})
# Names a template may use that are not parameters.
_BUILTIN_NAMES = frozenset({"client_id"})


@dataclass(frozen=True, slots=True)
class Parameter:
    """A setting a provider needs to build its endpoints, passed by name to the provider
    (``Microsoft(..., tenant="contoso.onmicrosoft.com")``).

    ``default`` is used when the setting is not given; without one the setting is
    required, unless ``optional`` (then the provider's hooks decide what its absence
    means, as GitHub's ``enterprise_url``). ``description`` is shown in the catalog;
    ``example`` is a valid value for the catalog's tests (one per kind by default).
    """

    name: str
    kind: ParameterKind = "token"
    default: str | None = None
    optional: bool = False
    description: str = ""
    example: str | None = None

    @property
    def example_value(self) -> str:
        """A valid value, for tests and the catalog."""
        if self.example is not None:
            return self.example
        return {
            "host": "id.example.com",
            "url": "https://id.example.com",
            "token": "example",
            "secret": "example-secret",
        }[self.kind]

    @property
    def required(self) -> bool:
        """True when a provider cannot be built without it."""
        return self.default is None and not self.optional


@dataclass(frozen=True, slots=True)
class UserInfoRequest:
    """How a user-info request is made (``ProviderSpec.userinfo_endpoint`` is where).

    ``token_scheme`` is the ``Authorization`` scheme (``"Bearer"``; Yandex's ``"OAuth"``);
    with ``token_query`` set the token is sent as that query parameter instead (and no
    ``Authorization`` header). ``headers`` and ``query`` are fixed extras; their values
    are templates too (``{"Client-Id": "{client_id}"}`` for Twitch). ``method`` is GET,
    or POST with an empty body (Dropbox).
    """

    method: Literal["GET", "POST"] = "GET"
    token_scheme: str = "Bearer"
    token_query: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UserFields:
    """Where each ``ProviderUser`` field is in the user-info answer (or the ID token's claims).

    Each field is a path: keys separated by dots, list indexes as numbers
    (``"data.0.id"``, ``"kakao_account.email"``), relative to ``root`` (a path to the
    user object inside the answer, ``"data"`` for Twitch); a tuple of paths takes the
    first one that holds a non-empty value; None: the provider has no such field.
    ``id`` is required and is coerced to a string (a JSON integer becomes its decimal
    string). ``avatar_url_template`` builds the avatar URL from other fields
    (``"https://cdn.discordapp.com/avatars/{id}/{avatar}.png"``: each ``{path}`` is the
    value at that path, URL-quoted; no URL when one is missing); it is used when
    ``avatar_url`` finds nothing. ``string_booleans``: the ``email_verified`` flag may be
    the string ``"true"`` (Cognito, Apple).
    """

    id: str | tuple[str, ...] = "id"
    email: str | tuple[str, ...] | None = "email"
    email_verified: str | tuple[str, ...] | None = None
    name: str | tuple[str, ...] | None = "name"
    username: str | tuple[str, ...] | None = None
    avatar_url: str | tuple[str, ...] | None = None
    avatar_url_template: str | None = None
    root: str | None = None
    string_booleans: bool = False


OIDC_USER_FIELDS = UserFields(
    id="sub",
    email="email",
    email_verified="email_verified",
    name="name",
    username="preferred_username",
    avatar_url="picture",
)
"""The standard OpenID Connect claims (OIDC Core 5.1)."""

# ProviderSpec.user's default, a marker replaced by the protocol's own fields in
# __post_init__ (found by identity: a UserFields() passed explicitly is kept as given).
_PROTOCOL_USER_FIELDS = UserFields()


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """Everything about a provider that is data (see the module docstring and
    docs/oauth/add-a-provider.md).

    Endpoints are URL templates: ``{name}`` is the value of the ``parameters`` entry of
    that name. ``userinfo_endpoint`` is None when the ID token is the only source of the
    user (OIDC). ``issuer`` (for ``"oauth2"``, optional: the RFC 9207 ``iss`` the
    provider sends back) and ``jwks_uri`` (OIDC) are templates too. ``discovery``: the
    endpoints come from the issuer's discovery document (``OpenIDConnect``), and the
    endpoint fields are None. ``docs`` are the provider's pages the facts were checked
    against. ``user`` defaults to the protocol's fields: OpenID Connect's standard
    claims (``OIDC_USER_FIELDS``), or ``UserFields()`` for OAuth 2.0. ``id_scope_claim``
    (OIDC) is the exact name of an ID token claim saying what the ``sub`` is unique within (a Slack
    workspace, a Microsoft tenant): the user's id is then ``"{that claim}:{sub}"``, and a
    user without it is refused.
    """

    slug: str
    name: str
    authorization_endpoint: str | None
    token_endpoint: str | None
    docs: tuple[str, ...]
    protocol: Protocol = "oauth2"
    userinfo_endpoint: str | None = None
    revocation_endpoint: str | None = None
    issuer: str | None = None
    jwks_uri: str | None = None
    discovery: bool = False
    parameters: tuple[Parameter, ...] = ()
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: Pkce = "S256"
    token_auth: TokenEndpointAuth = "client_secret_basic"
    refresh: bool = True
    authorization_params: Mapping[str, str] = field(default_factory=dict)
    errors: ErrorConvention = "oauth2"
    userinfo: UserInfoRequest = field(default_factory=UserInfoRequest)
    user: UserFields = _PROTOCOL_USER_FIELDS
    email: EmailPolicy = "flag"
    id_token_algorithms: tuple[str, ...] = ("RS256",)
    additional_issuers: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    id_scope_claim: str | None = None

    def __post_init__(self) -> None:
        if self.user is _PROTOCOL_USER_FIELDS:
            # Not given: OpenID Connect's standard claims, or plain OAuth 2.0's usual names.
            default = OIDC_USER_FIELDS if self.protocol == "oidc" else UserFields()
            object.__setattr__(self, "user", default)
        if not _TOKEN.fullmatch(self.slug) or self.slug != self.slug.lower():
            raise ValueError(f"slug {self.slug!r}: lowercase a-z 0-9 . _ - only")
        if not self.docs:
            raise ValueError(f"{self.slug}: docs must name the provider's documentation")
        declared = {parameter.name for parameter in self.parameters}
        if len(declared) != len(self.parameters):
            raise ValueError(f"{self.slug}: a parameter is declared twice")
        for parameter in self.parameters:
            if parameter.default is not None:
                check_parameter(parameter, parameter.default)
        secret = {parameter.name for parameter in self.parameters if parameter.kind == "secret"}
        for what, template in self.templates().items():
            names = template_names(template)
            unknown = names - declared - _BUILTIN_NAMES
            if unknown:
                raise ValueError(f"{self.slug}: {what} uses undeclared {sorted(unknown)}")
            if names & secret:
                raise ValueError(f"{self.slug}: {what} uses a secret parameter")
        if self.discovery:
            if self.protocol != "oidc":
                raise ValueError(f"{self.slug}: discovery is OpenID Connect's")
        elif self.authorization_endpoint is None or self.token_endpoint is None:
            raise ValueError(f"{self.slug}: authorization and token endpoints are required")
        if (self.protocol == "oidc" and not self.discovery) and (
            self.issuer is None or self.jwks_uri is None
        ):
            raise ValueError(f"{self.slug}: an OIDC spec needs issuer and jwks_uri")
        if self.id_scope_claim is not None and self.protocol != "oidc":
            raise ValueError(f"{self.slug}: id_scope_claim is OpenID Connect's")
        if self.protocol == "oauth2" and self.userinfo_endpoint is None:
            raise ValueError(f"{self.slug}: an OAuth 2.0 spec needs a userinfo_endpoint")

    def templates(self) -> dict[str, str]:
        """Every URL template of the spec, by field name (headers and query included)."""
        named = {
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "revocation_endpoint": self.revocation_endpoint,
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
        }
        found = {key: value for key, value in named.items() if value is not None}
        for key, value in self.userinfo.headers.items():
            found[f"userinfo.headers[{key}]"] = value
        for key, value in self.userinfo.query.items():
            found[f"userinfo.query[{key}]"] = value
        for key, value in self.headers.items():
            found[f"headers[{key}]"] = value
        return found

    @property
    def required_parameters(self) -> tuple[str, ...]:
        """The names of the settings a provider cannot be built without."""
        return tuple(parameter.name for parameter in self.parameters if parameter.required)

    def endpoints(self, values: Mapping[str, str]) -> Endpoints:
        """The endpoints with ``values`` (checked parameters, and the URL-quoted
        ``client_id``) filled in; a field whose value is missing keeps its ``{name}``
        (the catalog shows the templates so)."""
        filled = _Filled(values)

        def fill(template: str | None) -> str | None:
            return None if template is None else template.format_map(filled)

        return Endpoints(
            authorization=fill(self.authorization_endpoint),
            token=fill(self.token_endpoint),
            userinfo=fill(self.userinfo_endpoint),
            revocation=fill(self.revocation_endpoint),
            issuer=fill(self.issuer),
            jwks_uri=fill(self.jwks_uri),
        )

    def parameter_values(self, given: Mapping[str, str | None]) -> dict[str, str]:
        """The checked value of every parameter: ``given``, else its default.

        ``TypeError`` for a name the spec does not declare, ``ValueError`` for a
        required one missing or a value of the wrong kind (the message names it, never
        echoing the value).
        """
        unknown = set(given) - {parameter.name for parameter in self.parameters}
        if unknown:
            raise TypeError(f"{self.name} takes no parameter {sorted(unknown)}")
        values: dict[str, str] = {}
        for parameter in self.parameters:
            value = given.get(parameter.name)
            if value is None:
                value = parameter.default
            if value is None:
                if parameter.required:
                    raise ValueError(f"{self.name} needs {parameter.name}=")
                continue
            values[parameter.name] = check_parameter(parameter, value)
        return values


class _Filled(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """A provider's endpoints with its parameters filled in (None: it has none, or, for
    an OpenID provider found by discovery, they are not known before discovery)."""

    authorization: str | None
    token: str | None
    userinfo: str | None = None
    revocation: str | None = None
    issuer: str | None = None
    jwks_uri: str | None = None

    def moved(self, move: Callable[[str], str]) -> Endpoints:
        """These endpoints with each URL but the issuer passed through ``move``: a provider
        that serves the same paths elsewhere (a GitHub Enterprise Server, an Okta custom
        authorization server)."""

        def moved(url: str | None) -> str | None:
            return None if url is None else move(url)

        return replace(
            self,
            authorization=moved(self.authorization),
            token=moved(self.token),
            userinfo=moved(self.userinfo),
            revocation=moved(self.revocation),
            jwks_uri=moved(self.jwks_uri),
        )


def check_parameter(parameter: Parameter, value: object) -> str:
    """``value`` checked against ``parameter.kind`` (see ``ParameterKind``), normalised
    (a URL without its trailing slashes); ``ValueError`` naming the parameter if it is
    not one."""
    name = parameter.name
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    if parameter.kind == "secret":
        return value
    if parameter.kind == "token":
        # "." and ".." are dot segments: httpx and browsers resolve them, moving the
        # endpoint out of the path the template puts the value in.
        if not _TOKEN.fullmatch(value) or value in _DOT_SEGMENTS:
            raise ValueError(f"{name} must be a plain word of A-Z a-z 0-9 . _ - (not . or ..)")
        return value
    if parameter.kind == "host":
        if not _HOST.fullmatch(value):
            raise ValueError(f"{name} must be a host name such as id.example.com")
        return value.lower()
    # urlsplit silently drops tabs and newlines (and reads what a browser would not):
    # checked on the value itself.
    if not value.isascii() or any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"{name} must be a plain URL (no spaces or control characters)")
    parts = urlsplit(value)
    try:
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        host = None
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{name} must be an https:// URL")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError(f"{name} must be an https:// URL (http:// only for a loopback host)")
    if parts.query or parts.fragment or parts.username or parts.password or "?" in value:
        raise ValueError(f"{name} must have no query, fragment or credentials")
    if "{" in value or "}" in value or "#" in value:
        raise ValueError(f"{name} must be a plain URL")
    # Only what every URL parser reads alike: a plain host (or an IP literal), and path
    # segments of plain words. Browsers read a backslash as a slash and drop tabs and
    # newlines, so "https://evil.example\\.id.example.com" would send the authorization
    # redirect to evil.example; dot segments (plain or %-encoded) leave the path.
    if not (_HOST.fullmatch(parts.netloc) or _is_ip_literal(parts.netloc, host)):
        raise ValueError(f"{name} must name a plain host: letters, digits, - and .")
    segments = parts.path.rstrip("/").split("/")[1:]
    if any(not _TOKEN.fullmatch(s) or s in _DOT_SEGMENTS for s in segments):
        raise ValueError(f"{name}'s path must be plain words of A-Z a-z 0-9 . _ -")
    return value.rstrip("/")


def _is_ip_literal(netloc: str, host: str) -> bool:
    """Whether ``netloc`` is just the IP address ``host`` (bracketed if IPv6), with an
    optional port."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    shown = f"[{address}]" if address.version == 6 else str(address)
    return re.fullmatch(re.escape(shown) + r"(?::[0-9]{1,5})?", netloc) is not None


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def template_names(template: str) -> set[str]:
    """The ``{name}`` fields of a template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]`` (already checked)."""
    return template.format_map(_Filled(values))


def path_present(data: Any, paths: str | tuple[str, ...] | None) -> bool:
    """True when the first of ``paths`` names a key present in ``data`` (even if null)."""
    if paths is None:
        return False
    path = paths if isinstance(paths, str) else paths[0]
    parent, _, last = path.rpartition(".")
    holder = json_path(data, parent) if parent else data
    return isinstance(holder, Mapping) and last in holder


def json_path(data: Any, path: str) -> Any:
    """The value at ``path`` (dot-separated keys, numbers index lists), or None."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, Sequence) and not isinstance(current, str | bytes):
            if not part.isdigit() or int(part) >= len(current):
                return None
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


def _first(data: Any, paths: str | tuple[str, ...] | None) -> Any:
    if paths is None:
        return None
    for path in (paths,) if isinstance(paths, str) else paths:
        value = json_path(data, path)
        if value is not None and value != "":
            return value
    return None


def _text(data: Any, paths: str | tuple[str, ...] | None) -> str | None:
    value = _first(data, paths)
    return value if isinstance(value, str) and value else None


def _identifier(value: Any) -> str | None:
    # bool is an int in Python: never an id.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value else None


def _avatar(data: Any, fields: UserFields) -> str | None:
    found = _text(data, fields.avatar_url)
    if found is not None or fields.avatar_url_template is None:
        return found
    values: dict[str, str] = {}
    for name in template_names(fields.avatar_url_template):
        value = _identifier(json_path(data, name))
        if value is None:
            return None
        values[name] = quote(value, safe="")
    # Paths hold dots, which str.format reads as attribute access: substitute by hand.
    url = fields.avatar_url_template
    for name, value in values.items():
        url = url.replace("{" + name + "}", value)
    return url


def read_user(
    data: Any,
    fields: UserFields,
    email: EmailPolicy,
    *,
    what: str = "the user",
    email_source: Any = None,
    raw: Mapping[str, Any] | None = None,
) -> ProviderUser:
    """The ``ProviderUser`` in ``data`` (a user-info answer or ID token claims) as
    ``fields`` map it, its ``email_verified`` decided by the ``email`` policy.

    ``email_source``, when given, is where the address and its flag are read instead
    (they must come from the same answer). ``OAuthResponseError`` when the user or
    its id is missing.
    """
    user = json_path(data, fields.root) if fields.root is not None else data
    if not isinstance(user, Mapping):
        raise OAuthResponseError(f"{what} is not a JSON object")
    user_id = _identifier(_first(user, fields.id))
    if user_id is None:
        raise OAuthResponseError(f"{what} has no id")
    source = user if email_source is None else email_source
    address = None if email == "none" else _text(source, fields.email)
    verified = False
    if address is not None:
        if email == "verified":
            verified = True
        elif email == "flag":
            flag = _first(source, fields.email_verified)
            verified = flag is True or (
                fields.string_booleans and isinstance(flag, str) and flag.lower() == "true"
            )
    return ProviderUser(
        id=user_id,
        email=address,
        email_verified=verified,
        name=_text(user, fields.name),
        username=_text(user, fields.username),
        avatar_url=_avatar(user, fields),
        raw=dict(user) if raw is None else raw,
    )
