"""Every provider lucia knows, by slug: ``provider("discord", ...)``, and the catalog.

The registry is the class of every entry of lucia's ``catalog.toml`` (found on first
use, so adding a provider is adding its entry): the class its ``module`` defines with
its hooks, or the one made from the entry (``catalog_class``); plus the classes an
app registers (``register``).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, TypeVar

from lucia.oauth.providers.base import OAuthProvider
from lucia.oauth.providers.catalog import PACKAGE, entries, entry
from lucia.oauth.providers.provider import OIDCSpecProvider, SpecProvider
from lucia.oauth.providers.spec import ProviderSpec

__all__ = [
    "catalog",
    "catalog_class",
    "describe",
    "provider",
    "provider_class",
    "providers",
    "register",
    "spec_of",
]

P = TypeVar("P", bound=type[OAuthProvider])

_registered: dict[str, type[OAuthProvider]] = {}
# The classes made from the catalog, by slug: made once, so each has one identity.
_made: dict[str, type[OAuthProvider]] = {}
_loaded = False
_lock = threading.Lock()


def spec_of(cls: type[OAuthProvider]) -> ProviderSpec:
    """The ``ProviderSpec`` of a provider class (``TypeError`` without one)."""
    spec = getattr(cls, "spec", None)
    if not isinstance(spec, ProviderSpec):
        raise TypeError(f"{cls.__name__} has no ProviderSpec (its `spec` attribute)")
    return spec


def register(cls: P) -> P:
    """Make ``cls`` (a provider class with a ``spec``) reachable by its slug; usable as
    a class decorator. ``ValueError`` when another class has that slug."""
    if not (isinstance(cls, type) and issubclass(cls, OAuthProvider)):
        raise TypeError("register() takes an OAuthProvider subclass")
    slug = spec_of(cls).slug
    with _lock:
        known = _registered.get(slug)
        if known is not None and known is not cls:
            raise ValueError(f"two providers have the slug {slug!r}")
        _registered[slug] = cls
    return cls


def catalog_class(slug: str) -> type[OAuthProvider]:
    """The provider class of ``slug``'s entry in lucia's catalog: the class its
    ``module`` defines, or one made from the entry (a ``SpecProvider`` or
    ``OIDCSpecProvider`` subclass with the entry's class name and docstring, in
    ``lucia.oauth.providers``). ``TypeError`` when a module's class does not hold the
    entry's spec."""
    found = entry(slug)
    if found.module is not None:
        module = importlib.import_module(f"{PACKAGE}.{found.module}")
        cls = getattr(module, found.class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, OAuthProvider)):
            raise TypeError(f"{module.__name__} defines no provider {found.class_name}")
        if cls.__dict__.get("spec") is not found.spec:
            raise TypeError(f"{cls.__name__}.spec must be catalog_spec({slug!r})")
        return cls
    with _lock:
        made = _made.get(slug)
        if made is None:
            base = OIDCSpecProvider if found.spec.protocol == "oidc" else SpecProvider
            namespace = {
                "__module__": PACKAGE,
                "__qualname__": found.class_name,
                "__doc__": found.doc,
                "spec": found.spec,
            }
            made = _made[slug] = type(found.class_name, (base,), namespace)
    return made


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for slug in entries():
        register(catalog_class(slug))
    _loaded = True


def providers() -> dict[str, type[OAuthProvider]]:
    """Every registered provider class, by slug, in slug order."""
    _load()
    return dict(sorted(_registered.items()))


def provider_class(slug: str) -> type[OAuthProvider]:
    """The provider class of ``slug``; ``KeyError`` naming the known slugs if none."""
    found = providers().get(slug)
    if found is None:
        raise KeyError(f"no provider {slug!r}; known: {', '.join(providers())}")
    return found


def provider(
    slug: str,
    *,
    client_id: str,
    client_secret: str | None,
    redirect_uri: str | None,
    **options: Any,
) -> OAuthProvider:
    """The provider ``slug`` (``"discord"``, ``"microsoft"``...), built with these
    credentials and ``options``: its parameters (``tenant=``, ``issuer=``...) and the
    options every provider takes (``scopes=``, ``http_client=``, ``async_http_client=``,
    ``timeout=``, ``clock=``). Same as calling its class."""
    # Each class has its own constructor (the parameters are keywords of each).
    cls: Any = provider_class(slug)
    instance: OAuthProvider = cls(
        client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri, **options
    )
    return instance


def describe(cls: type[OAuthProvider]) -> dict[str, Any]:
    """A provider's catalog entry, as ``lucia providers --json`` prints it: endpoints as
    templates (``{tenant}``: a parameter; defaults filled in), the required
    ``parameters``, ``pkce`` (``"S256"`` or ``"none"``: the method, however the
    provider spells it), ``refresh``, ``revoke`` and ``email`` (``available``;
    ``verified``: ``"flag"`` the provider's per-address flag, ``"always"``,
    ``"never"``)."""
    spec = spec_of(cls)
    defaults = {p.name: p.default for p in spec.parameters if p.default is not None}
    endpoints = spec.endpoints(defaults)
    verified = {"flag": "flag", "verified": "always", "unverified": "never", "none": "never"}
    return {
        "slug": spec.slug,
        "name": spec.name,
        "protocol": spec.protocol,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "authorization_endpoint": endpoints.authorization,
        "token_endpoint": endpoints.token,
        "userinfo_endpoint": endpoints.userinfo,
        "revocation_endpoint": endpoints.revocation,
        "issuer": endpoints.issuer,
        "discovery": spec.discovery,
        "parameters": list(spec.required_parameters),
        "optional_parameters": [p.name for p in spec.parameters if not p.required],
        "scopes": list(spec.scopes),
        "pkce": "none" if spec.pkce == "none" else "S256",
        "refresh": spec.refresh,
        "revoke": endpoints.revocation is not None,
        "email": {"available": spec.email != "none", "verified": verified[spec.email]},
        "docs": list(spec.docs),
    }


def catalog() -> list[dict[str, Any]]:
    """Every registered provider's ``describe`` entry, in slug order."""
    return [describe(cls) for cls in providers().values()]
