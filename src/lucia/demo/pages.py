"""The demo's pages: small functions that return HTML, every value escaped.

No template engine: the pages are few and short, and plain functions keep the
escaping visible (``_e`` on every value that is not a literal of this file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Literal

from lucia.models import Key, Session, User

from .useragent import describe_user_agent

__all__ = [
    "AccountView",
    "Identity",
    "ProviderButton",
    "account_page",
    "error_page",
    "home_page",
    "layout",
    "rate_limited_page",
    "sign_in_page",
    "sign_up_page",
]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


@dataclass(frozen=True, slots=True)
class ProviderButton:
    """A configured OAuth provider: its route name and the label users see."""

    route: str
    label: str


@dataclass(frozen=True, slots=True)
class Identity:
    """One key of the user, as the account page lists it."""

    key: Key
    label: str


# "password": confirm the password; "sign-in": no password, sign in again.
Reauthentication = Literal["password", "sign-in"]


@dataclass(frozen=True, slots=True)
class AccountView:
    """Everything the account page shows."""

    user: User
    identities: Sequence[Identity]
    linkable: Sequence[ProviderButton]
    sessions: Sequence[Session]
    current_session_id: str
    notice: str | None = None
    error: str | None = None
    reauthenticate: Reauthentication | None = None


def layout(
    title: str,
    body: str,
    *,
    user: User | None,
    dev_provider_url: str | None,
) -> str:
    """The whole document around ``body`` (already HTML): header, dev-mode note, footer."""
    if user is None:
        links = '<li><a href="/signup">Sign up</a></li><li><a href="/signin">Sign in</a></li>'
    else:
        links = '<li><a href="/account">Account</a></li>'
    banner = ""
    if dev_provider_url is not None:
        banner = (
            '<aside class="dev" aria-label="Development mode">'
            "<strong>Development mode.</strong> A local development sign-in provider runs "
            f"beside this demo at <code>{_e(dev_provider_url)}</code>: it signs anyone in as "
            "whoever they say they are. It exists for trying the OAuth flow without an "
            "account anywhere; never enable it in production "
            "(<code>lucia demo --no-dev-provider</code> turns it off)."
            "</aside>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · lucia demo</title>"
        '<link rel="stylesheet" href="/static/demo.css"></head><body>'
        '<header><nav aria-label="Main"><a class="brand" href="/">lucia demo</a>'
        f"<ul>{links}</ul></nav></header>"
        f"{banner}<main>{body}</main>"
        "<footer><p>The lucia demo: accounts and sessions in a SQLite file, cookies over "
        "plain http for local development only.</p></footer>"
        "</body></html>"
    )


def _messages(notice: str | None, error: str | None) -> str:
    out = ""
    if notice:
        out += f'<p class="notice" role="status">{_e(notice)}</p>'
    if error:
        out += f'<p class="error" role="alert">{_e(error)}</p>'
    return out


def home_page(user: User | None) -> str:
    """Who is signed in, or the ways in."""
    if user is None:
        return (
            "<h1>Welcome</h1>"
            "<p>You are not signed in.</p>"
            '<p class="actions"><a class="button" href="/signup">Sign up</a> '
            '<a class="button secondary" href="/signin">Sign in</a></p>'
        )
    return (
        "<h1>Welcome back</h1>"
        f"<p>You are signed in as <strong>{_e(_display_name(user))}</strong>.</p>"
        '<p class="actions"><a class="button" href="/account">Your account</a></p>'
        '<form method="post" action="/logout"><button class="secondary">Sign out</button></form>'
    )


def _email_field(email: str) -> str:
    return (
        '<p><label for="email">Email</label>'
        f'<input id="email" name="email" type="email" value="{_e(email)}" '
        'autocomplete="username" required autofocus></p>'
    )


def _password_field(autocomplete: str, *, min_length: int | None = None) -> str:
    minimum = f' minlength="{min_length}"' if min_length else ""
    hint = ""
    if min_length:
        hint = (
            f'<small id="password-hint">At least {min_length} characters; '
            "common passwords are refused.</small>"
        )
    described = ' aria-describedby="password-hint"' if hint else ""
    return (
        '<p><label for="password">Password</label>'
        f'<input id="password" name="password" type="password" autocomplete="{autocomplete}"'
        f"{minimum}{described} required>{hint}</p>"
    )


def sign_up_page(email: str = "", error: str | None = None, *, min_length: int = 8) -> str:
    """The sign-up form, with ``error`` above it."""
    return (
        "<h1>Sign up</h1>"
        f"{_messages(None, error)}"
        '<form method="post" action="/signup" class="card">'
        f"{_email_field(email)}{_password_field('new-password', min_length=min_length)}"
        '<p><button type="submit">Sign up</button></p></form>'
        '<p>Already have an account? <a href="/signin">Sign in</a>.</p>'
    )


def _provider_buttons(providers: Sequence[ProviderButton]) -> str:
    if not providers:
        return ""
    buttons = "".join(
        f'<form method="post" action="/signin/{_e(p.route)}">'
        f'<button type="submit" class="secondary">Sign in with {_e(p.label)}</button></form>'
        for p in providers
    )
    return f'<section class="providers" aria-label="Other ways to sign in">{buttons}</section>'


def sign_in_page(
    providers: Sequence[ProviderButton], email: str = "", error: str | None = None
) -> str:
    """The sign-in form and a button per configured provider."""
    return (
        "<h1>Sign in</h1>"
        f"{_messages(None, error)}"
        '<form method="post" action="/signin" class="card">'
        f"{_email_field(email)}{_password_field('current-password')}"
        '<p><button type="submit">Sign in</button></p></form>'
        f"{_provider_buttons(providers)}"
        '<p>No account yet? <a href="/signup">Sign up</a>.</p>'
    )


def _when(moment: datetime) -> str:
    stamp = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f'<time datetime="{_e(moment.isoformat())}">{_e(stamp)}</time>'


def _reauthentication_form(kind: Reauthentication) -> str:
    if kind == "password":
        return (
            '<section class="card confirm" aria-labelledby="confirm-title">'
            '<h2 id="confirm-title">Confirm your password</h2>'
            "<p>Linking and unlinking sign-in methods needs a recent sign-in. "
            "Enter your password, then try again.</p>"
            '<form method="post" action="/account/confirm">'
            f"{_password_field('current-password')}"
            '<p><button type="submit">Confirm</button></p></form></section>'
        )
    return (
        '<section class="card confirm" aria-labelledby="confirm-title">'
        '<h2 id="confirm-title">Sign in again</h2>'
        "<p>Linking and unlinking sign-in methods needs a recent sign-in, and this "
        'account has no password. <a href="/signin">Sign in again</a>, then try again.</p>'
        "</section>"
    )


def account_page(view: AccountView) -> str:
    """Profile, linked identities, sessions, and the sign-out button."""
    user = view.user
    email = user.attributes.get("email")
    parts = [
        "<h1>Your account</h1>",
        _messages(view.notice, view.error),
        _reauthentication_form(view.reauthenticate) if view.reauthenticate else "",
        '<section aria-labelledby="profile-title"><h2 id="profile-title">Profile</h2><dl>',
        f"<dt>Email</dt><dd>{_e(email) if email else '<em>none</em>'}</dd>",
    ]
    name = user.attributes.get("name")
    if name:
        parts.append(f"<dt>Name</dt><dd>{_e(name)}</dd>")
    parts.append("</dl></section>")

    can_unlink = len(view.identities) > 1
    items = []
    for identity in view.identities:
        key = identity.key
        unlink = ""
        if can_unlink:
            unlink = (
                '<form method="post" action="/account/unlink">'
                f'<input type="hidden" name="provider_id" value="{_e(key.provider_id)}">'
                f'<input type="hidden" name="provider_user_id" value="{_e(key.provider_user_id)}">'
                f'<button type="submit" class="secondary small">Unlink {_e(identity.label)}'
                "</button></form>"
            )
        items.append(
            f"<li><div><strong>{_e(identity.label)}</strong>"
            f"<small>{_e(key.provider_user_id)}</small></div>{unlink}</li>"
        )
    parts.append(
        '<section aria-labelledby="identities-title">'
        '<h2 id="identities-title">Sign-in methods</h2>'
        f'<ul class="rows">{"".join(items)}</ul>'
    )
    if not can_unlink:
        parts.append("<p><small>Your only sign-in method cannot be unlinked.</small></p>")
    if view.linkable:
        links = "".join(
            f'<form method="post" action="/account/link/{_e(p.route)}">'
            f'<button type="submit" class="secondary">Link {_e(p.label)}</button></form>'
            for p in view.linkable
        )
        parts.append(
            '<div class="providers" role="group" aria-label="Link another sign-in method">'
            f"{links}</div>"
        )
    parts.append("</section>")

    rows = []
    for session in view.sessions:
        current = session.id == view.current_session_id
        agent = describe_user_agent(session.attributes.get("user_agent"))
        address = session.attributes.get("ip")
        where = f" from {_e(address)}" if address else ""
        if current:
            action = '<span class="badge">This browser</span>'
        else:
            action = (
                '<form method="post" action="/account/sessions/revoke">'
                f'<input type="hidden" name="session_id" value="{_e(session.id)}">'
                f'<button type="submit" class="secondary small">Revoke {_e(agent)}</button></form>'
            )
        marker = ' aria-current="true"' if current else ""
        rows.append(
            f"<li{marker}><div>"
            f"<strong>{_e(agent)}</strong>"
            f"<small>Signed in {_when(session.created_at)}{where}</small></div>{action}</li>"
        )
    others = len(view.sessions) > 1
    parts.append(
        '<section aria-labelledby="sessions-title"><h2 id="sessions-title">Active sessions</h2>'
        f'<ul class="rows">{"".join(rows)}</ul>'
    )
    if others:
        parts.append(
            '<form method="post" action="/account/sessions/revoke-others">'
            '<button type="submit" class="secondary">Revoke all other sessions</button></form>'
        )
    parts.append("</section>")
    parts.append(
        '<form method="post" action="/logout" class="signout">'
        '<button type="submit">Sign out</button></form>'
    )
    return "".join(parts)


def rate_limited_page(retry_after: int) -> str:
    """The answer to a blocked sign-in attempt."""
    minutes = max(1, -(-retry_after // 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        "<h1>Too many attempts</h1>"
        f'<p class="error" role="alert">Too many attempts, try again in {minutes} {unit}.</p>'
        '<p><a href="/signin">Back to sign in</a></p>'
    )


def error_page(title: str, message: str) -> str:
    """A short page for a refused request."""
    return f'<h1>{_e(title)}</h1><p class="error" role="alert">{_e(message)}</p>'


def _display_name(user: User) -> str:
    attributes = user.attributes
    for field in ("email", "name", "username"):
        value = attributes.get(field)
        if isinstance(value, str) and value:
            return value
    return user.id
