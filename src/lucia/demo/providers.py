"""The demo's OAuth providers, read from the environment for every registered provider.

A provider of ``lucia.oauth``'s registry (``lucia providers`` lists them) is
offered when its ``LUCIA_<SLUG>_CLIENT_ID`` and ``LUCIA_<SLUG>_CLIENT_SECRET``
are set, with one ``LUCIA_<SLUG>_<PARAMETER>`` per parameter it declares (slug
and parameter upper-cased, other characters as ``_``: ``LUCIA_KEYCLOAK_BASE_URL``).
A secret (the client secret, a parameter of the ``secret`` kind such as Apple's
private key) may instead be read from the file named by the same variable with
``_FILE`` appended. Nothing here lists providers by hand: a new provider module
brings its variables, its button and its lines in ``lucia demo --help``.

A provider the environment names but does not complete (its secret or a
required parameter missing, a value of the wrong kind), a ``LUCIA_<SLUG>_...``
variable no provider reads and a client id for a slug nobody registered are
reported, one line each, naming the variables and never their values; the demo
starts with the providers that are complete.
"""

from __future__ import annotations

import logging
import os
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from lucia.oauth.providers.base import OAuthProvider
from lucia.oauth.providers.registry import provider, provider_class, providers, spec_of
from lucia.oauth.providers.spec import Parameter, ProviderSpec, check_parameter

__all__ = [
    "DemoProvider",
    "env_name",
    "environment_help",
    "providers_from_env",
]

logger = logging.getLogger("lucia.demo")

PREFIX: Final = "LUCIA_"
FILE_SUFFIX: Final = "_FILE"

#: Today's names, read when the new one is unset (the demo took them before the registry).
LEGACY: Final = {
    "LUCIA_GITHUB_CLIENT_ID": "GITHUB_CLIENT_ID",
    "LUCIA_GITHUB_CLIENT_SECRET": "GITHUB_CLIENT_SECRET",
}
#: The route of the OpenID provider the older ``OIDC_...`` variables configure.
LEGACY_OIDC_ROUTE: Final = "oidc"

# A client id or secret variable: LUCIA_<SLUG>_CLIENT_ID, ..._CLIENT_SECRET[_FILE].
_CREDENTIAL: Final = re.compile(r"LUCIA_(?P<slug>\w+?)_CLIENT_(?:ID|SECRET)(?:_FILE)?")


@dataclass(frozen=True, slots=True)
class DemoProvider:
    """An OAuth provider of the demo: the route name in ``/login/{route}``, its label."""

    route: str
    label: str
    provider: OAuthProvider


def env_name(slug: str, setting: str) -> str:
    """The variable of ``setting`` for the provider ``slug``: ``LUCIA_<SLUG>_<SETTING>``."""
    return f"{PREFIX}{_upper(slug)}_{_upper(setting)}"


def _upper(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


@dataclass(frozen=True, slots=True)
class _Variables:
    """The variables that configure one provider, and the route it is served at."""

    slug: str
    route: str
    spec: ProviderSpec
    client_id: str
    client_secret: str
    parameters: tuple[tuple[Parameter, str], ...]
    #: The variable whose value labels the button (providers found by discovery).
    label: str | None

    @classmethod
    def of(cls, slug: str, spec: ProviderSpec) -> _Variables:
        return cls(
            slug,
            slug,
            spec,
            env_name(slug, "client_id"),
            env_name(slug, "client_secret"),
            tuple((parameter, env_name(slug, parameter.name)) for parameter in spec.parameters),
            env_name(slug, "name") if spec.discovery else None,
        )

    def secrets(self) -> list[str]:
        """The variables that hold secrets (each may also be given as ``<name>_FILE``)."""
        named = [name for parameter, name in self.parameters if parameter.kind == "secret"]
        return [self.client_secret, *named]

    def settings(self) -> list[str]:
        """The variables ``--help`` shows: credentials, parameters, the label."""
        label = [] if self.label is None else [self.label]
        return [self.client_id, self.client_secret, *(name for _, name in self.parameters), *label]

    def names(self) -> list[str]:
        """Every variable this provider reads."""
        return self.settings() + [name + FILE_SUFFIX for name in self.secrets()]


def _registered() -> list[_Variables]:
    return [_Variables.of(slug, spec_of(cls)) for slug, cls in providers().items()]


def _legacy_oidc() -> _Variables:
    """``OIDC_ISSUER``, ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` and ``OIDC_NAME``: the
    registry's OpenID provider at ``/login/oidc``, as the demo read it before."""
    spec = spec_of(provider_class("openid"))
    (issuer,) = (p for p in spec.parameters if p.name == "issuer")
    return _Variables(
        "openid",
        LEGACY_OIDC_ROUTE,
        spec,
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
        ((issuer, "OIDC_ISSUER"),),
        "OIDC_NAME",
    )


class _Problem(Exception):
    """Why a provider is not offered (a line of the report)."""


class _Reader:
    """Reads variables from ``env``; an empty value counts as unset."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def given(self, name: str) -> bool:
        legacy = LEGACY.get(name)
        return bool(
            self.env.get(name)
            or self.env.get(name + FILE_SUFFIX)
            or (legacy is not None and self.env.get(legacy))
        )

    def value(self, name: str, *, secret: bool = False) -> str | None:
        value = self.env.get(name) or None
        legacy = LEGACY.get(name)
        if value is None and legacy is not None:
            value = self.env.get(legacy) or None
        path = self.env.get(name + FILE_SUFFIX) if secret else None
        if value is not None or not path:
            return value
        try:
            # A key file keeps its PEM line breaks; only the trailing newline goes.
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n") or None
        except (OSError, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            raise _Problem(f"{name}{FILE_SUFFIX}: cannot read the file ({reason})") from None

    @staticmethod
    def alias(name: str) -> str:
        """``name``, with the older name also read for it."""
        legacy = LEGACY.get(name)
        return name if legacy is None else f"{name} (or {legacy})"


def _build(
    variables: _Variables, reader: _Reader, base_url: str, options: Mapping[str, Any]
) -> DemoProvider:
    """The provider ``variables`` configure; ``_Problem`` says what keeps it from working."""
    spec = variables.spec
    missing: list[str] = []
    client_id = reader.value(variables.client_id)
    if client_id is None:
        missing.append(reader.alias(variables.client_id))
    parameters: dict[str, str] = {}
    for parameter, name in variables.parameters:
        value = reader.value(name, secret=parameter.kind == "secret")
        if value is None:
            if parameter.required:
                about = f" ({parameter.description})" if parameter.description else ""
                missing.append(name + about)
            continue
        try:
            parameters[parameter.name] = check_parameter(parameter, value)
        except ValueError as exc:
            # check_parameter names the parameter and never echoes the value.
            raise _Problem(f"{name} is not valid: {exc}") from None
    client_secret = reader.value(variables.client_secret, secret=True)
    # A public client has no secret; Apple's may be made from its private key parameter.
    public = spec.token_auth == "none"  # noqa: S105  (an auth method, not a password)
    secret_given = client_secret is not None or any(
        p.kind == "secret" and p.name in parameters for p, _ in variables.parameters
    )
    if not (public or secret_given):
        missing.append(" or ".join(reader.alias(name) for name in variables.secrets()))
    if client_id is None or missing:
        raise _Problem(f"missing {'; '.join(missing)}")
    try:
        built = provider(
            variables.slug,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=f"{base_url}/login/{variables.route}/callback",
            **parameters,
            **options,
        )
    except (TypeError, ValueError) as exc:
        # The provider's own check (a key that is not a key): its message, minus any secret.
        secrets = [client_secret]
        secrets += [parameters.get(p.name) for p, _ in variables.parameters if p.kind == "secret"]
        raise _Problem(_redacted(str(exc), secrets)) from None
    label = reader.value(variables.label) if variables.label else None
    if label is None and spec.discovery:
        # "OpenID Connect (any issuer...)" says nothing on a button: the issuer's host does.
        label = urlsplit(spec.endpoints(parameters).issuer or "").hostname
    return DemoProvider(variables.route, label or spec.name, built)


def _redacted(message: str, secrets: Sequence[str | None]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[redacted]")
    return message


def providers_from_env(
    base_url: str,
    environ: Mapping[str, str] | None = None,
    *,
    report: Callable[[str], None] | None = None,
    **options: Any,
) -> list[DemoProvider]:
    """The providers the environment configures (``os.environ`` by default), in slug
    order, with redirect URIs ``<base_url>/login/<slug>/callback``; ``options`` go to
    every provider (``async_http_client=``, ``timeout=``...).

    Every registered provider whose ``LUCIA_<SLUG>_...`` variables are set (see the
    module docstring). Also, as before: ``GITHUB_CLIENT_ID``/``GITHUB_CLIENT_SECRET``
    for GitHub when the ``LUCIA_GITHUB_...`` ones are unset, and an OpenID provider
    at ``/login/oidc/callback`` when ``OIDC_ISSUER``/``OIDC_CLIENT_ID``/
    ``OIDC_CLIENT_SECRET`` are set (``OIDC_NAME`` labels it; default: the issuer's
    host). Each problem found (a provider left out, a variable nobody reads) goes to
    ``report``, one line naming the variables, never their values (default: a
    warning on the ``lucia.demo`` logger); the other providers are still returned.
    """
    env = os.environ if environ is None else environ
    say = report if report is not None else logger.warning
    base = base_url.rstrip("/")
    reader = _Reader(env)
    registered = _registered()
    found: list[DemoProvider] = []
    for variables in [*registered, _legacy_oidc()]:
        if not any(reader.given(name) for name in variables.names()):
            continue
        try:
            found.append(_build(variables, reader, base, options))
        except _Problem as problem:
            say(f"{variables.spec.name} is not offered: {problem}")
    for line in _unknown_variables(env, registered):
        say(line)
    return found


def _unknown_variables(env: Mapping[str, str], registered: Sequence[_Variables]) -> Iterator[str]:
    """A ``LUCIA_<SLUG>_...`` variable no provider reads is a typo, or a provider
    lucia does not have: said, rather than silently offering nothing."""
    known = {name for variables in registered for name in variables.names()}
    # The longest prefix first: a slug may start with another's slug and "_".
    by_prefix = sorted(
        ((f"{PREFIX}{_upper(v.slug)}_", v) for v in registered),
        key=lambda item: len(item[0]),
        reverse=True,
    )
    for name in sorted(env):
        if name in known or not name.startswith(PREFIX):
            continue
        owner = next((v for prefix, v in by_prefix if name.startswith(prefix)), None)
        if owner is not None:
            expected = ", ".join(owner.settings())
            yield f"{name} is not a setting of {owner.spec.name} ({expected})"
            continue
        credential = _CREDENTIAL.fullmatch(name)
        if credential is not None:
            slug = credential["slug"].lower()
            yield f"{name}: lucia has no provider {slug!r} (`lucia providers` lists them)"


def environment_help() -> str:
    """The variables of every registered provider, for ``lucia demo --help``."""
    lines = ["providers (environment variables):"]
    lines += _wrapped(
        "A sign-in button is shown for each provider whose LUCIA_<SLUG>_CLIENT_ID and"
        " LUCIA_<SLUG>_CLIENT_SECRET are set, with its required settings; give the"
        " provider the redirect URI http://HOST:PORT/login/<slug>/callback. A secret may"
        f" be read from a file: the same variable with {FILE_SUFFIX} appended, holding the"
        " path. A provider whose settings are incomplete is left out with a message naming"
        " what is missing, and the demo starts with the others.",
        indent=2,
    )
    lines.append("")
    for variables in _registered():
        header = f"{variables.spec.name} ({variables.slug}): {_credentials_note(variables)}"
        lines += _wrapped(header, indent=2, hanging=4)
        width = max((len(name) for name in variables.settings()[2:]), default=0)
        notes = [(name, _parameter_note(parameter)) for parameter, name in variables.parameters]
        if variables.label is not None:
            notes.append((variables.label, "the button's label (optional)"))
        for name, note in notes:
            lines += _wrapped(f"{name.ljust(width)}  {note}", indent=4, hanging=width + 2)
    lines += [""]
    lines += _wrapped(
        "Still read, as before: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (for GitHub,"
        " when the LUCIA_GITHUB_ ones are unset); OIDC_ISSUER, OIDC_CLIENT_ID and"
        " OIDC_CLIENT_SECRET (any OpenID provider, at /login/oidc/callback; OIDC_NAME"
        " labels its button).",
        indent=2,
    )
    return "\n".join(lines)


_WIDTH: Final = 80


def _wrapped(text: str, *, indent: int, hanging: int = 0) -> list[str]:
    """``text`` in lines of ``_WIDTH``, indented; lines after the first ``hanging`` more."""
    return textwrap.wrap(
        text,
        width=_WIDTH,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hanging),
        break_long_words=False,
        break_on_hyphens=False,
    )


def _credentials_note(variables: _Variables) -> str:
    if variables.spec.token_auth == "none":  # noqa: S105  (an auth method, not a password)
        return f"{variables.client_id} (a public client: no secret)"
    secret_parameters = [name for p, name in variables.parameters if p.kind == "secret"]
    alternative = f" (or {', '.join(secret_parameters)})" if secret_parameters else ""
    return f"{variables.client_id}, {variables.client_secret}{alternative}"


def _parameter_note(parameter: Parameter) -> str:
    if parameter.required:
        status = "required"
    elif parameter.default is not None:
        status = f"default: {parameter.default}"
    else:
        status = "optional"
    if parameter.kind == "secret":
        status += f"; or {FILE_SUFFIX}, a path"
    description = f"{parameter.description} " if parameter.description else ""
    return f"{description}({status})"
