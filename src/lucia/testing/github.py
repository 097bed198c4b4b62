"""A local stand-in for GitHub's OAuth endpoints, for development and tests only.

``LocalGitHub`` is a real HTTP server on 127.0.0.1 that serves GitHub's
documented sign-in endpoints in the GitHub Enterprise Server layout, so a
``GitHub(..., enterprise_url=server.url)`` provider talks to it unchanged::

    with LocalGitHub(client_id="id", client_secret="secret") as github:
        provider = GitHub("id", "secret", "http://app/callback", enterprise_url=github.url)
        params = github.authorize(provider.create_authorization_url(state, verifier))
        tokens = provider.validate_authorization_code(params["code"], verifier)

Endpoints: ``/login/oauth/authorize`` (auto-approves the signed-in account, or
shows a small form), ``/login/oauth/access_token`` (single-use codes, client
credentials, redirect_uri and PKCE checked; errors as HTTP 200 with ``error``,
as GitHub does), ``/api/v3/user``, ``/api/v3/user/emails`` and
``DELETE /api/v3/applications/{client_id}/token``. ``fail()`` makes an endpoint
misbehave on purpose. State lives in memory; nothing here is secure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import http.client
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from lucia.testing._server import LocalServer, LoopbackServer

__all__ = [
    "Endpoint",
    "Fault",
    "GitHubAccount",
    "GitHubEmail",
    "LocalGitHub",
    "RecordedRequest",
]

logger = logging.getLogger("lucia.testing.github")

Endpoint = Literal["authorize", "token", "user", "emails", "revoke"]
#: How an endpoint misbehaves: ``"500"`` (an HTML error page), ``"html"`` (HTTP 200
#: with a web page), ``"not_json"`` (HTTP 200, a truncated JSON body),
#: ``"json_array"`` (HTTP 200, ``[]``), ``"huge"`` (HTTP 200, 2 MiB of JSON),
#: ``"hang"`` (no answer until ``hang_seconds`` pass or the server stops),
#: ``"forbidden"`` (HTTP 403), and for ``"user"`` only ``"missing_id"`` and
#: ``"string_id"``.
Fault = Literal[
    "500", "html", "not_json", "json_array", "huge", "hang", "forbidden", "missing_id", "string_id"
]

CODE_LIFETIME = 600.0  # GitHub's codes expire after 10 minutes.
ACCESS_TOKEN_LIFETIME = 28800  # GitHub Apps' expiring user tokens: 8 hours.
REFRESH_TOKEN_LIFETIME = 15811200  # and their refresh tokens: 6 months.
MAX_BODY = 64 * 1024
_DOCS = "https://docs.github.com/rest"


@dataclass
class GitHubEmail:
    """One entry of ``/user/emails``."""

    email: str
    primary: bool = False
    verified: bool = False
    visibility: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as GitHub sends it."""
        return {
            "email": self.email,
            "primary": self.primary,
            "verified": self.verified,
            "visibility": self.visibility,
        }


@dataclass
class GitHubAccount:
    """A GitHub user. ``email`` is the public profile email (None when hidden)."""

    id: int
    login: str
    name: str | None = None
    email: str | None = None
    emails: list[GitHubEmail] = field(default_factory=list)

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The account as ``GET /user`` returns it (the documented "private user" shape)."""
        return {
            "login": self.login,
            "id": self.id,
            "node_id": base64.b64encode(f"04:User{self.id}".encode()).decode(),
            "avatar_url": f"{base_url}/avatars/u/{self.id}?v=4",
            "gravatar_id": "",
            "url": f"{base_url}/api/v3/users/{self.login}",
            "html_url": f"{base_url}/{self.login}",
            "type": "User",
            "site_admin": False,
            "name": self.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": self.email,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 2,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2011-01-25T18:44:36Z",
            "updated_at": "2024-01-22T12:00:00Z",
            "two_factor_authentication": True,
        }


@dataclass
class RecordedRequest:
    """A request the server received: for tests to check what a client sent."""

    method: str
    path: str
    headers: dict[str, str] = field(repr=False)
    form: dict[str, str] = field(repr=False)
    json: Any = field(repr=False)


@dataclass
class _Grant:
    account_id: int
    redirect_uri: str | None
    scopes: tuple[str, ...]
    code_challenge: str | None
    expires: float


@dataclass
class _Token:
    account_id: int
    scopes: tuple[str, ...]
    expires: float | None
    refresh_token: str | None = None


class LocalGitHub(LocalServer):
    """GitHub's sign-in endpoints on 127.0.0.1 (a free port), for one OAuth app.

    ``redirect_uris`` are the app's registered callback URLs; when empty, any
    http(s) ``redirect_uri`` is accepted. ``auto_approve`` sends the signed-in
    account (``sign_in()``, by default the first) straight back to the app;
    otherwise ``/login/oauth/authorize`` shows a form to pick an account and
    authorize or cancel. ``expiring_tokens`` issues GitHub App style tokens
    (``expires_in`` and a ``refresh_token``).

    Without ``accounts``, one account: id 583231, login ``octocat``, no public
    email, and the verified primary address ``octocat@example.com``. Accounts
    are plain dataclasses in ``accounts``: change them between sign-ins (a
    rename, a new email) as GitHub users do.
    """

    def __init__(
        self,
        *,
        client_id: str = "local-github-client",
        client_secret: str = "local-github-secret",  # noqa: S107 (a stand-in's, not a secret)
        redirect_uris: Iterable[str] = (),
        accounts: Iterable[GitHubAccount] | None = None,
        auto_approve: bool = True,
        expiring_tokens: bool = False,
        hang_seconds: float = 30.0,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        if accounts is None:
            accounts = [
                GitHubAccount(
                    id=583231,
                    login="octocat",
                    name="The Octocat",
                    email=None,
                    emails=[GitHubEmail("octocat@example.com", primary=True, verified=True)],
                )
            ]
        self.accounts: dict[int, GitHubAccount] = {a.id: a for a in accounts}
        self.signed_in: int | None = next(iter(self.accounts), None)
        self.auto_approve = auto_approve
        self.expiring_tokens = expiring_tokens
        self.hang_seconds = hang_seconds
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, Fault] = {}
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> access token
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LocalGitHub(url={self._url_or_none()!r}, client_id={self.client_id!r})"

    # Lifecycle

    def _make_server(self) -> LoopbackServer:
        return _Server(self)

    def _url_or_none(self) -> str | None:
        if self._server is None:
            return None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def client_secret(self) -> str:
        """The OAuth app's client secret (to configure the ``GitHub`` provider with)."""
        return self._client_secret

    @property
    def url(self) -> str:
        """The server's base URL: pass it as ``enterprise_url``."""
        url = self._url_or_none()
        if url is None:
            raise RuntimeError("LocalGitHub is not started")
        return url

    # Knobs

    def add_account(self, account: GitHubAccount) -> GitHubAccount:
        """Add (or replace) an account."""
        with self._lock:
            self.accounts[account.id] = account
        return account

    def sign_in(self, account_id: int | None) -> None:
        """Make ``account_id`` the account that ``/login/oauth/authorize`` approves for."""
        if account_id is not None and account_id not in self.accounts:
            raise KeyError(account_id)
        self.signed_in = account_id

    def fail(self, endpoint: Endpoint, fault: Fault | None) -> None:
        """Make ``endpoint`` misbehave with ``fault`` until told otherwise (None: behave)."""
        with self._lock:
            if fault is None:
                self._faults.pop(endpoint, None)
            else:
                self._faults[endpoint] = fault

    def is_token_active(self, access_token: str) -> bool:
        """Whether ``access_token`` was issued, and is neither revoked nor expired."""
        with self._lock:
            return self._lookup_token(access_token) is not None

    def authorize(self, authorization_url: str) -> dict[str, str]:
        """Follow an authorization URL as the signed-in account's browser would.

        Returns the query of the redirect back to the app (``code`` and ``state``,
        or ``error``). Needs ``auto_approve``.
        """
        parts = urlsplit(authorization_url)
        if f"{parts.scheme}://{parts.netloc}" != self.url:
            raise ValueError("the URL is not this server's")
        # The standard library's client: no TLS context to build for a loopback call.
        connection = http.client.HTTPConnection(parts.netloc, timeout=10)
        try:
            connection.request("GET", f"{parts.path}?{parts.query}")
            response = connection.getresponse()
            response.read()
            location = response.getheader("Location")
        finally:
            connection.close()
        if response.status != 302 or location is None:
            raise AssertionError(f"the authorization was not redirected ({response.status})")
        return dict(parse_qsl(urlsplit(location).query))

    # What the handler calls (under the lock)

    def _fault(self, endpoint: Endpoint) -> Fault | None:
        with self._lock:
            return self._faults.get(endpoint)

    def _check_client(self, client_id: str | None, client_secret: str | None) -> bool:
        return (
            client_id is not None
            and client_secret is not None
            and hmac.compare_digest(client_id.encode(), self.client_id.encode())
            and hmac.compare_digest(client_secret.encode(), self._client_secret.encode())
        )

    def _issue_code(
        self,
        account_id: int,
        redirect_uri: str | None,
        scopes: tuple[str, ...],
        code_challenge: str | None,
    ) -> str:
        code = secrets.token_hex(10)  # GitHub's codes are 20 hex characters.
        with self._lock:
            self._codes[code] = _Grant(
                account_id,
                redirect_uri,
                scopes,
                code_challenge,
                time.monotonic() + CODE_LIFETIME,
            )
        return code

    def _redeem_code(self, code: str) -> _Grant | None:
        with self._lock:
            # Popped before any other check: a code is spent by its first use,
            # successful or not.
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires < time.monotonic():
            return None
        return grant

    def _issue_token(self, account_id: int, scopes: tuple[str, ...]) -> dict[str, Any]:
        answer: dict[str, Any] = {"scope": ",".join(scopes), "token_type": "bearer"}
        with self._lock:
            if self.expiring_tokens:
                access_token = "ghu_" + secrets.token_hex(18)
                refresh_token = "ghr_" + secrets.token_hex(38)
                self._tokens[access_token] = _Token(
                    account_id, scopes, time.monotonic() + ACCESS_TOKEN_LIFETIME, refresh_token
                )
                self._refresh_tokens[refresh_token] = access_token
                answer.update(
                    expires_in=ACCESS_TOKEN_LIFETIME,
                    refresh_token=refresh_token,
                    refresh_token_expires_in=REFRESH_TOKEN_LIFETIME,
                )
            else:
                access_token = "gho_" + secrets.token_hex(18)
                self._tokens[access_token] = _Token(account_id, scopes, None)
        answer["access_token"] = access_token
        return answer

    def _refresh(self, refresh_token: str) -> dict[str, Any] | None:
        with self._lock:
            access_token = self._refresh_tokens.pop(refresh_token, None)
            old = self._tokens.pop(access_token, None) if access_token else None
        if old is None:
            return None
        return self._issue_token(old.account_id, old.scopes)

    def _lookup_token(self, access_token: str) -> _Token | None:
        token = self._tokens.get(access_token)
        if token is None or (token.expires is not None and token.expires < time.monotonic()):
            return None
        return token

    def _revoke(self, access_token: str) -> bool:
        with self._lock:
            token = self._tokens.pop(access_token, None)
            if token is not None and token.refresh_token is not None:
                self._refresh_tokens.pop(token.refresh_token, None)
        return token is not None


class _Server(LoopbackServer):
    def __init__(self, github: LocalGitHub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.github = github

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) leaves a broken pipe behind:
        # not worth a traceback on stderr.
        logger.debug("LocalGitHub: connection error", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """One request to a ``LocalGitHub``."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalGitHub/1.0"
    # One buffered write per answer, sent at once: headers and body in separate
    # small segments would meet the client's delayed ACK (40 ms a request).
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    @property
    def github(self) -> LocalGitHub:
        return self.server.github

    # Logging: paths only, never a query (it holds state and challenges) or a body.

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("LocalGitHub: " + format, *args)

    # Dispatch

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        body = self._read_body()
        form: dict[str, str] = {}
        payload: Any = None
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif content_type.startswith("application/json") and body:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
        self.github.requests.append(
            RecordedRequest(self.command, path, dict(self.headers.items()), form, payload)
        )
        revoke_path = f"/api/v3/applications/{self.github.client_id}/token"
        routes: dict[tuple[str, str], tuple[Endpoint, Any]] = {
            ("GET", "/login/oauth/authorize"): ("authorize", self._authorize),
            ("POST", "/login/oauth/authorize"): ("authorize", self._authorize),
            ("POST", "/login/oauth/access_token"): ("token", self._token),
            ("GET", "/api/v3/user"): ("user", self._user),
            ("GET", "/api/v3/user/emails"): ("emails", self._emails),
            ("DELETE", revoke_path): ("revoke", self._revoke),
        }
        route = routes.get((self.command, path))
        if route is None:
            self._json(404, {"message": "Not Found", "documentation_url": _DOCS})
            return
        endpoint, handler = route
        fault = self.github._fault(endpoint)
        if fault is not None and self._misbehave(fault):
            return
        handler(form, payload, fault)

    def _read_body(self) -> bytes:
        header = self.headers.get("Content-Length") or "0"
        length = int(header) if header.isdigit() else 0
        if length > MAX_BODY:
            self.close_connection = True  # the rest of the body stays unread
        return self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""

    # Answers

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, **headers: str) -> None:
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8", **headers)

    def _html(self, status: int, page: str) -> None:
        self._send(status, page.encode(), "text/html; charset=utf-8")

    def _redirect(self, location: str) -> None:
        self._send(302, b"", "text/html; charset=utf-8", Location=location)

    def _misbehave(self, fault: Fault) -> bool:
        """Answer as ``fault`` says; False for the faults the endpoint applies itself."""
        if fault == "500":
            page = "<!DOCTYPE html><html><body><h1>500</h1>\x00\x1b[31mUnicorn!\u2603</body></html>"
            self._html(500, page)
        elif fault == "html":
            self._html(
                200, "<!DOCTYPE html><html><body><form>Sign in to GitHub</form></body></html>"
            )
        elif fault == "not_json":
            self._send(200, b'{"access_token": "gho_trunc', "application/json")
        elif fault == "json_array":
            self._json(200, [])
        elif fault == "huge":
            self._json(200, {"padding": "x" * (2 * 1024 * 1024)})
        elif fault == "forbidden":
            self._json(403, {"message": "Resource not accessible by integration"})
        elif fault == "hang":
            self.github._stopping.wait(self.github.hang_seconds)
            self.close_connection = True
            self._json(504, {"message": "gave up hanging"})
        else:
            return False
        return True

    def _authorize(self, form: dict[str, str], payload: Any, fault: Fault | None) -> None:
        github = self.github
        params = form if self.command == "POST" else dict(parse_qsl(urlsplit(self.path).query))
        if params.get("client_id") != github.client_id:
            self._html(404, "<!DOCTYPE html><title>Not Found</title><h1>404</h1>")
            return
        state = params.get("state")
        redirect_uri = params.get("redirect_uri")
        registered = github.redirect_uris
        if redirect_uri is None:
            if not registered:
                self._html(400, "<!DOCTYPE html><h1>No redirect_uri and no callback URL</h1>")
                return
            target = registered[0]
        elif registered and redirect_uri not in registered:
            # GitHub then goes to the registered callback URL, with an error.
            self._redirect(
                _with_query(
                    registered[0],
                    error="redirect_uri_mismatch",
                    error_description="The redirect_uri MUST match the registered callback URL"
                    " for this application.",
                    state=state,
                )
            )
            return
        elif urlsplit(redirect_uri).scheme not in ("http", "https"):
            self._html(400, "<!DOCTYPE html><h1>Bad redirect_uri</h1>")
            return
        else:
            target = redirect_uri
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if (challenge is None) != (method is None) or (method is not None and method != "S256"):
            # GitHub accepts only the S256 code challenge method.
            self._redirect(
                _with_query(
                    target,
                    error="invalid_request",
                    error_description="Only the S256 code_challenge_method is supported.",
                    state=state,
                )
            )
            return
        scopes = tuple(params.get("scope", "").replace(",", " ").split())
        account_id: int | None = github.signed_in
        if self.command == "GET" and not github.auto_approve:
            self._html(200, _form_page(params, github))
            return
        if self.command == "POST":
            if params.get("decision") != "approve":
                self._redirect(
                    _with_query(
                        target,
                        error="access_denied",
                        error_description="The user has denied your application access.",
                        error_uri="https://docs.github.com/apps/managing-oauth-apps/"
                        "troubleshooting-authorization-request-errors/#access-denied",
                        state=state,
                    )
                )
                return
            account = params.get("account", "")
            account_id = int(account) if account.isdigit() else None
        if account_id is None or account_id not in github.accounts:
            self._html(403, "<!DOCTYPE html><h1>No account is signed in</h1>")
            return
        code = github._issue_code(account_id, redirect_uri, scopes, challenge)
        self._redirect(_with_query(target, code=code, state=state))

    def _token(self, form: dict[str, str], payload: Any, fault: Fault | None) -> None:
        github = self.github
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(self.headers.get("Authorization"), form_encoded=True)
        if basic is not None:
            client_id, client_secret = basic
        if not github._check_client(client_id, client_secret):
            self._token_error(
                "incorrect_client_credentials",
                "The client_id and/or client_secret passed are incorrect.",
            )
            return
        grant_type = form.get("grant_type", "authorization_code")
        if grant_type == "refresh_token":
            answer = github._refresh(form.get("refresh_token", ""))
            if answer is None:
                self._token_error("bad_refresh_token", "The refresh token passed is incorrect.")
            else:
                self._token_answer(answer)
            return
        if grant_type != "authorization_code":
            self._token_error("unsupported_grant_type", "The grant type is not supported.")
            return
        grant = github._redeem_code(form.get("code", ""))
        if grant is None:
            self._token_error("bad_verification_code", "The code passed is incorrect or expired.")
            return
        # RFC 6749 §4.1.3: the same redirect_uri as in the authorization request.
        if grant.redirect_uri is not None and form.get("redirect_uri") != grant.redirect_uri:
            self._token_error(
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
            )
            return
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not verifier or not hmac.compare_digest(expected, grant.code_challenge):
                self._token_error(
                    "bad_verification_code", "The code_verifier does not match the challenge."
                )
                return
        self._token_answer(github._issue_token(grant.account_id, grant.scopes))

    def _token_answer(self, answer: Mapping[str, Any]) -> None:
        if "application/json" in self.headers.get("Accept", ""):
            self._json(200, dict(answer))
        else:
            # GitHub's default answer is form-encoded.
            body = urlencode({k: str(v) for k, v in answer.items()}).encode()
            self._send(200, body, "application/x-www-form-urlencoded; charset=utf-8")

    def _token_error(self, error: str, description: str) -> None:
        # GitHub answers token errors with HTTP 200.
        self._token_answer(
            {
                "error": error,
                "error_description": description,
                "error_uri": "https://docs.github.com/apps/managing-oauth-apps/"
                f"troubleshooting-oauth-app-access-token-request-errors/#{error.replace('_', '-')}",
            }
        )

    def _authenticated(self) -> _Token | None:
        scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or not credentials:
            self._json(401, {"message": "Requires authentication", "documentation_url": _DOCS})
            return None
        with self.github._lock:
            token = self.github._lookup_token(credentials.strip())
        if token is None:
            self._json(401, {"message": "Bad credentials", "documentation_url": _DOCS})
        return token

    def _user(self, form: dict[str, str], payload: Any, fault: Fault | None) -> None:
        token = self._authenticated()
        if token is None:
            return
        account = self.github.accounts[token.account_id]
        profile = account.to_json(self.github.url)
        if fault == "missing_id":
            del profile["id"]
        elif fault == "string_id":
            profile["id"] = str(account.id)
        self._json(200, profile, X_OAuth_Scopes=", ".join(token.scopes))

    def _emails(self, form: dict[str, str], payload: Any, fault: Fault | None) -> None:
        token = self._authenticated()
        if token is None:
            return
        if "user:email" not in token.scopes and "user" not in token.scopes:
            # What GitHub answers when the token lacks the user:email scope.
            self._json(404, {"message": "Not Found", "documentation_url": _DOCS})
            return
        account = self.github.accounts[token.account_id]
        self._json(200, [email.to_json() for email in account.emails])

    def _revoke(self, form: dict[str, str], payload: Any, fault: Fault | None) -> None:
        credentials = _basic_credentials(self.headers.get("Authorization"), form_encoded=False)
        if credentials is None or not self.github._check_client(*credentials):
            self._json(401, {"message": "Bad credentials", "documentation_url": _DOCS})
            return
        access_token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(access_token, str):
            self._json(422, {"message": "Validation Failed", "documentation_url": _DOCS})
        elif self.github._revoke(access_token):
            self._send(204, b"", "application/json")
        else:
            self._json(404, {"message": "Not Found", "documentation_url": _DOCS})


def _basic_credentials(header: str | None, *, form_encoded: bool) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except ValueError:
        return None
    user, colon, password = decoded.partition(":")
    if not colon:
        return None
    if form_encoded:  # RFC 6749 §2.3.1 at the token endpoint
        return unquote_plus(user), unquote_plus(password)
    return user, password


def _with_query(url: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"


def _form_page(params: Mapping[str, str], github: LocalGitHub) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    choices = "".join(
        f'<label><input type="radio" name="account" value="{account.id}"'
        f"{' checked' if account.id == github.signed_in else ''}> "
        f"{html.escape(account.login)}</label><br>"
        for account in github.accounts.values()
    )
    scope = html.escape(params.get("scope", "") or "(no scope)")
    return (
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>Authorize application</title>"
        "</head><body><h1>Authorize application (LocalGitHub)</h1>"
        f"<p>Requested scopes: {scope}</p>"
        f'<form method="post" action="/login/oauth/authorize">{hidden}{choices}'
        '<button type="submit" name="decision" value="approve" id="approve">Authorize</button> '
        '<button type="submit" name="decision" value="deny" id="deny">Cancel</button>'
        "</form></body></html>"
    )
