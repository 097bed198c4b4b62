"""lucia's configuration from ``settings.LUCIA``, and the objects built from it.

    LUCIA = {
        "PROVIDERS": {"github": GitHub(...)},    # or a list, a callable, a dotted path
        "SESSION_EXPIRES_IN": timedelta(days=30),
        "COOKIE_NAME": "auth_session",
        "SECURE_COOKIES": True,
        "ALLOWED_ORIGINS": [],                   # empty: the request's own host
        "TRUST_PROXY": False,
        "CSRF_EXEMPT": ["/webhooks"],
        "LOGIN_URL": None,                       # login_required: None answers 401
        "TRUSTED_PROXIES": [],                   # proxies whose X-Forwarded-For counts
        "PASSWORD_ROUTES": False,                # mount signup/, signin/, password/, ...
        "THROTTLE": None,                        # a SignInThrottle (or a dotted path/callable)
        "RETURN_TOKENS": False,                  # JSON answers carry the bearer token
        "REAUTHENTICATION_MAX_AGE": timedelta(minutes=10),
    }

The flow seals its OAuth transactions under ``SECRET_KEY`` (and
``SECRET_KEY_FALLBACKS``, for rotation), through a key derived for lucia alone;
``"FLOW_OPTIONS": {"secret_keys": [...]}`` chooses other secrets.

``get_lucia()``, ``get_async_lucia()``, ``get_flow()`` and
``get_password_config()`` build these once and
cache them; changing ``settings.LUCIA`` (``override_settings`` in tests) drops
the cache.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings  # type: ignore[import-untyped]
from django.core.signals import setting_changed  # type: ignore[import-untyped]
from django.utils.module_loading import import_string  # type: ignore[import-untyped]

from lucia.accounts import REAUTHENTICATION_MAX_AGE
from lucia.core import AsyncLucia, Lucia
from lucia.integrations._middleware import Gate
from lucia.integrations._passwords import PasswordConfig, check_trusted_proxies
from lucia.throttle import SignInThrottle

if TYPE_CHECKING:
    # The OAuth flow (httpx, joserfc) is imported only when it is built, so a
    # password-only project never loads the OAuth extra.
    from lucia.oauth.flow import SignInFlow
    from lucia.oauth.providers.base import OAuthProvider

__all__ = [
    "LuciaSettings",
    "get_async_lucia",
    "get_flow",
    "get_lucia",
    "get_password_config",
    "lucia_settings",
    "seals_with_process_key",
]

logger = logging.getLogger("lucia.integrations")

_DEFAULT_ADAPTER = "lucia.integrations.django.adapter.DjangoAdapter"
_KNOWN = frozenset(
    {
        "ADAPTER",
        "SESSION_EXPIRES_IN",
        "COOKIE_NAME",
        "SECURE_COOKIES",
        "ALLOWED_ORIGINS",
        "TRUST_PROXY",
        "CSRF_EXEMPT",
        "BEARER",
        "PROVIDERS",
        "LOGIN_URL",
        "DEFAULT_REDIRECT",
        "AFTER_LOGOUT",
        "LUCIA_OPTIONS",
        "FLOW_OPTIONS",
        "TRUSTED_PROXIES",
        "PASSWORD_ROUTES",
        "THROTTLE",
        "RETURN_TOKENS",
        "REAUTHENTICATION_MAX_AGE",
    }
)


@dataclass(frozen=True)
class LuciaSettings:
    """``settings.LUCIA``, checked, with defaults filled in."""

    adapter: Any
    session_expires_in: timedelta
    cookie_name: str
    secure_cookies: bool
    allowed_origins: tuple[str, ...]
    trust_proxy: bool
    csrf_exempt: tuple[str, ...]
    bearer: bool
    providers: Any
    login_url: str | None
    default_redirect: str
    after_logout: str
    lucia_options: Mapping[str, Any]
    flow_options: Mapping[str, Any]
    trusted_proxies: tuple[str, ...] = ()
    password_routes: bool = False
    throttle: Any = None
    return_tokens: bool = False
    reauthentication_max_age: timedelta = REAUTHENTICATION_MAX_AGE


def _strings(raw: dict[str, Any], name: str) -> tuple[str, ...]:
    value = raw.get(name, ())
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"LUCIA[{name!r}] must be a list of strings")
    return tuple(value)


def _read() -> LuciaSettings:
    raw: dict[str, Any] = dict(getattr(settings, "LUCIA", {}) or {})
    unknown = set(raw) - _KNOWN
    if unknown:
        raise ValueError(f"unknown settings.LUCIA keys: {sorted(unknown)}")
    exempt = _strings(raw, "CSRF_EXEMPT")
    for prefix in exempt:
        if not prefix.startswith("/"):
            raise ValueError("LUCIA['CSRF_EXEMPT'] entries are path prefixes starting with '/'")
    return LuciaSettings(
        adapter=raw.get("ADAPTER", _DEFAULT_ADAPTER),
        session_expires_in=raw.get("SESSION_EXPIRES_IN", timedelta(days=30)),
        cookie_name=raw.get("COOKIE_NAME", "auth_session"),
        secure_cookies=bool(raw.get("SECURE_COOKIES", True)),
        allowed_origins=_strings(raw, "ALLOWED_ORIGINS"),
        trust_proxy=bool(raw.get("TRUST_PROXY", False)),
        csrf_exempt=tuple(prefix.rstrip("/") for prefix in exempt),
        bearer=bool(raw.get("BEARER", True)),
        providers=raw.get("PROVIDERS", ()),
        login_url=raw.get("LOGIN_URL"),
        default_redirect=raw.get("DEFAULT_REDIRECT", "/"),
        after_logout=raw.get("AFTER_LOGOUT", "/"),
        lucia_options=dict(raw.get("LUCIA_OPTIONS", {})),
        flow_options=dict(raw.get("FLOW_OPTIONS", {})),
        trusted_proxies=check_trusted_proxies(_strings(raw, "TRUSTED_PROXIES")),
        password_routes=bool(raw.get("PASSWORD_ROUTES", False)),
        throttle=raw.get("THROTTLE"),
        return_tokens=bool(raw.get("RETURN_TOKENS", False)),
        reauthentication_max_age=raw.get("REAUTHENTICATION_MAX_AGE", REAUTHENTICATION_MAX_AGE),
    )


# Reentrant: building one object asks for others (the flow needs Lucia).
_lock = threading.RLock()
_cache: dict[str, Any] = {}
# What the middleware reads on every request ("gate", "lucia", "async_lucia"),
# without a call: the cache itself, cleared (never rebound) by reset(). A name
# missing from it means the getter must build it.
built: Mapping[str, Any] = _cache


def _cached(name: str, build: Callable[[], Any]) -> Any:
    # Double-checked: built once even when the first requests arrive together.
    try:
        return _cache[name]
    except KeyError:
        pass
    with _lock:
        if name not in _cache:
            _cache[name] = build()
        return _cache[name]


def reset() -> None:
    """Forget everything built from ``settings.LUCIA`` (done when the setting changes)."""
    with _lock:
        _cache.clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("LUCIA", "DATABASES", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        reset()


setting_changed.connect(_on_setting_changed, dispatch_uid="lucia.integrations.django.conf")


def lucia_settings() -> LuciaSettings:
    """The checked ``settings.LUCIA``."""
    result: LuciaSettings = _cached("settings", _read)
    return result


def _sync_adapter() -> Any:
    spec = lucia_settings().adapter
    if isinstance(spec, str):
        spec = import_string(spec)
    return spec() if isinstance(spec, type) or callable(spec) else spec


def _lucia_kwargs(conf: LuciaSettings) -> dict[str, Any]:
    return {
        "session_expires_in": conf.session_expires_in,
        "session_cookie_name": conf.cookie_name,
        "secure_cookies": conf.secure_cookies,
        **conf.lucia_options,
    }


def _build_lucia() -> Lucia:
    return Lucia(_cached("adapter", _sync_adapter), **_lucia_kwargs(lucia_settings()))


def _build_async_lucia() -> AsyncLucia:
    from lucia.integrations.django.adapter import AsyncDjangoAdapter

    adapter = AsyncDjangoAdapter(_cached("adapter", _sync_adapter))
    return AsyncLucia(adapter, **_lucia_kwargs(lucia_settings()))


def get_lucia() -> Lucia:
    """The project's ``Lucia`` (sync), built from ``settings.LUCIA`` once."""
    result: Lucia = _cached("lucia", _build_lucia)
    return result


def get_async_lucia() -> AsyncLucia:
    """The project's ``AsyncLucia``: the same adapter, each call on Django's sync thread."""
    result: AsyncLucia = _cached("async_lucia", _build_async_lucia)
    return result


def _form_post_callbacks() -> tuple[str, ...]:
    """Where lucia's urls serve the callbacks of providers that answer with a cross-site
    POST (Apple's form_post): the flow's state and sealed cookie protect those."""
    if not lucia_settings().providers:
        return ()  # a password-only site never loads the OAuth extra
    from django.urls import NoReverseMatch, reverse  # type: ignore[import-untyped]

    flow = get_flow()
    paths = []
    for name in flow.providers:
        if not flow.accepts_post(name):
            continue
        try:
            paths.append(reverse("lucia:callback", kwargs={"provider": name}))
        except NoReverseMatch:
            continue  # lucia's urls are not included: nothing to exempt
    return tuple(paths)


def _build_gate() -> Gate:
    conf = lucia_settings()
    return Gate(
        get_lucia(),
        allowed_origins=conf.allowed_origins,
        trust_proxy=conf.trust_proxy,
        csrf_exempt=(*conf.csrf_exempt, *_form_post_callbacks()),
        bearer=conf.bearer,
    )


def get_gate() -> Gate:
    """The middleware's session and CSRF decisions with ``settings.LUCIA``, built once."""
    result: Gate = _cached("gate", _build_gate)
    return result


def _providers() -> Mapping[str, OAuthProvider] | Iterable[OAuthProvider]:
    from lucia.oauth.providers.base import OAuthProvider

    spec = lucia_settings().providers
    if isinstance(spec, str):
        spec = import_string(spec)
    if callable(spec) and not isinstance(spec, OAuthProvider):
        spec = spec()
    result: Mapping[str, OAuthProvider] | Iterable[OAuthProvider] = spec
    return result


def _secret_keys() -> list[str | bytes] | None:
    """``SECRET_KEY`` then ``SECRET_KEY_FALLBACKS`` (Django's own rotation), the ones of
    at least 32 bytes; None (a per-process key) when ``SECRET_KEY`` is shorter."""
    from lucia.oauth._sealed import MIN_SECRET_BYTES

    def long_enough(secret: object) -> bool:
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        return isinstance(secret, bytes) and len(secret) >= MIN_SECRET_BYTES

    primary = getattr(settings, "SECRET_KEY", None)
    if not long_enough(primary):
        return None
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ()
    return [primary, *(secret for secret in fallbacks if long_enough(secret))]


def seals_with_process_key() -> bool:
    """Whether the OAuth sign-in these settings configure would seal its transactions
    with a key of each process, because ``SECRET_KEY`` is under 32 bytes and
    ``LUCIA["FLOW_OPTIONS"]`` gives no ``secret_keys``; False for a site without
    providers. The ``lucia.W001`` system check asks it."""
    conf = lucia_settings()
    return (
        bool(conf.providers) and "secret_keys" not in conf.flow_options and _secret_keys() is None
    )


def _build_flow() -> SignInFlow:
    from lucia.oauth._sealed import MIN_SECRET_BYTES
    from lucia.oauth.flow import SignInFlow

    conf = lucia_settings()
    options = dict(conf.flow_options)
    if "secret_keys" not in options:
        # Sealed under keys derived from SECRET_KEY, so every process of the site
        # finishes the sign-ins any other one started.
        options["secret_keys"] = _secret_keys()
        if options["secret_keys"] is None:
            # Also the system check lucia.W001, for whoever runs none.
            logger.warning(
                "settings.SECRET_KEY is shorter than %d bytes: OAuth sign-ins are sealed "
                "with a per-process key (set a longer SECRET_KEY, or "
                "LUCIA['FLOW_OPTIONS']['secret_keys'])",
                MIN_SECRET_BYTES,
            )
    return SignInFlow(
        get_lucia(),
        _providers(),
        default_redirect=conf.default_redirect,
        **options,
    )


def get_flow() -> SignInFlow:
    """The ``SignInFlow`` over ``get_lucia()`` and ``LUCIA["PROVIDERS"]``, built once."""
    result: SignInFlow = _cached("flow", _build_flow)
    return result


def _build_password_config() -> PasswordConfig:
    conf = lucia_settings()
    throttle = conf.throttle
    if isinstance(throttle, str):
        throttle = import_string(throttle)
    if throttle is not None and not isinstance(throttle, SignInThrottle) and callable(throttle):
        throttle = throttle()
    return PasswordConfig.build(
        get_lucia(),
        # Without providers the link routes have nothing to link, and a
        # password-only site never loads the OAuth extra (httpx, joserfc).
        get_flow() if conf.providers else None,
        throttle=throttle,
        return_tokens=conf.return_tokens,
        reauthentication_max_age=conf.reauthentication_max_age,
        default_redirect=conf.default_redirect,
    )


def get_password_config() -> PasswordConfig:
    """What the password views run with (``LUCIA["THROTTLE"]`` and friends), built once;
    the default throttle is a per-process ``SignInThrottle()``."""
    result: PasswordConfig = _cached("passwords", _build_password_config)
    return result
