"""A small OpenID provider on 127.0.0.1, for development and tests only.

    with LocalOIDCProvider(redirect_uris=["http://127.0.0.1:8000/login/local/callback"]) as op:
        provider = OpenIDConnect(op.issuer, op.client_id, op.client_secret, redirect_uri)
        ...
        callback_url = op.login(authorization_url)      # what the browser would be sent to

It serves discovery, a JWKS, an authorization endpoint (auto-approving
``user``, or a tiny sign-in form when ``auto_approve`` is False), a token
endpoint (single-use codes, PKCE S256, client_secret_basic/post), UserInfo and
revocation, and signs ID tokens (RS256 by default) with keys generated at run time.

Its public attributes are knobs to make it *misbehave on purpose*, so tests
can prove a relying party refuses what it must (see the class docstring).
It has no persistence, no consent, no rate limits and no real security (its
keys are generated once per process and shared by its instances): never run
it in production.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import html
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import httpx
from joserfc import jws
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey

from lucia.sessions import utc_now
from lucia.testing._server import LocalServer, LoopbackServer

__all__ = ["OMIT", "Fault", "LocalOIDCProvider", "Signing"]


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


#: In an override mapping, removes the member instead of setting it.
OMIT: Any = _Omit()

#: How a faulty endpoint answers: HTTP 500, an HTML page, a non-JSON body, an
#: empty JSON object, no answer until the server stops, or a dropped connection.
Fault = Literal["500", "html", "not-json", "empty", "hang", "close"]

#: How ID tokens are signed: normally; unsigned (``alg: none``); HS256 keyed
#: with the provider's public key in PEM (the algorithm-confusion attack);
#: HS256 keyed with the client secret (legitimate when a client opts in); with
#: the signature corrupted; by an attacker's key embedded as a ``jwk`` header;
#: or by a key the JWKS does not publish.
Signing = Literal[
    "key", "none", "hs256-public-key", "hs256-client-secret", "bad-signature",
    "embedded-jwk", "unpublished-key",
]  # fmt: skip

_ENDPOINTS = {
    "/.well-known/openid-configuration": "discovery",
    "/jwks": "jwks",
    "/authorize": "authorize",
    "/token": "token",
    "/userinfo": "userinfo",
    "/revoke": "revocation",
}
_MAX_BODY = 64 * 1024
CODE_LIFETIME = 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _apply(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for name, value in overrides.items():
        if value is OMIT:
            result.pop(name, None)
        else:
            result[name] = value
    return result


@functools.cache
def _generate_key(alg: str, kid: str) -> Key:
    # Cached: an RSA key takes up to a tenth of a second to generate, and test
    # suites start hundreds of providers. Each process still has its own keys.
    parameters: dict[str, Any] = {"kid": kid, "use": "sig", "alg": alg}
    if alg.startswith(("RS", "PS")):
        return RSAKey.generate_key(2048, parameters=parameters)  # type: ignore[arg-type]
    if alg.startswith("ES"):
        crv = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
        return ECKey.generate_key(crv, parameters=parameters)  # type: ignore[arg-type]
    if alg in ("EdDSA", "Ed25519"):
        return OKPKey.generate_key("Ed25519", parameters=parameters)  # type: ignore[arg-type]
    raise ValueError(f"unsupported signing algorithm {alg!r}")


def _half_hash(value: str, alg: str) -> str:
    # Computed here independently of lucia.oauth.oidc.token_hash, so that a
    # mistake there cannot be mirrored by the provider the tests run against.
    bits = "512" if alg in ("EdDSA", "Ed25519") else alg[-3:]
    digest = hashlib.new(f"sha{bits}", value.encode("ascii")).digest()
    return _b64(digest[: len(digest) // 2])


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    claims: dict[str, Any]
    scope: str
    nonce: str | None
    code_challenge: str | None
    issued_at: float


class LocalOIDCProvider(LocalServer):
    """An OpenID provider on a free loopback port, in a daemon thread.

    ``start()`` / ``stop()`` or ``with``; ``issuer`` is its URL (plus
    ``issuer_path``). One registered client (``client_id``, ``client_secret``
    (random unless given), ``redirect_uris``; an empty list accepts any
    redirect URI). ``user`` is the
    claims of the auto-approved user; with ``auto_approve=False`` the
    authorization endpoint shows a form asking for a subject and an email.

    Knobs (plain attributes, change them at any time):

    - ``id_token_claims`` / ``id_token_header``: merged over what the ID token
      would hold (``OMIT`` removes a member); ``signing``: see ``Signing``;
      ``include_c_hash``: add ``c_hash`` (``at_hash`` is always there).
    - ``discovery_overrides``, ``userinfo_overrides``,
      ``token_response_overrides``, ``callback_params``: merged over those answers.
    - ``jwks_extra``: raw entries appended to the JWKS; ``publish_key()`` and
      ``rotate_signing_key()`` change the published keys.
    - ``authorization_error``: answer the authorization request with this error.
    - ``faults``: endpoint name (``discovery``, ``jwks``, ``authorize``,
      ``token``, ``userinfo``, ``revocation``) -> ``Fault``.

    ``requests`` lists the endpoint names requested, in order; ``count(name)``
    counts them.
    """

    def __init__(
        self,
        *,
        client_id: str = "lucia-test-client",
        client_secret: str | None = None,
        redirect_uris: Iterable[str] = (),
        user: Mapping[str, Any] | None = None,
        auto_approve: bool = True,
        signing_alg: str = "RS256",
        token_endpoint_auth_methods: Iterable[str] = ("client_secret_basic", "client_secret_post"),
        require_pkce: bool = True,
        issuer_path: str = "",
        clock: Callable[[], datetime] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.redirect_uris = list(redirect_uris)
        self.user: dict[str, Any] = dict(
            user
            or {
                "sub": "248289761001",
                "email": "alice@example.test",
                "email_verified": True,
                "name": "Alice Example",
                "preferred_username": "alice",
                "picture": "https://example.test/alice.png",
            }
        )
        self.auto_approve = auto_approve
        self.signing_alg = signing_alg
        self.token_endpoint_auth_methods = list(token_endpoint_auth_methods)
        self.require_pkce = require_pkce
        self.issuer_path = issuer_path
        self._clock = clock or utc_now
        self._address = (host, port)

        self.signing_key = _generate_key(signing_alg, "key-1")
        self.published_keys: list[Key] = [self.signing_key]
        self._key_number = 1

        # Misbehaviour knobs
        self.id_token_claims: dict[str, Any] = {}
        self.id_token_header: dict[str, Any] = {}
        self.signing: Signing = "key"
        self.include_c_hash = False
        self.discovery_overrides: dict[str, Any] = {}
        self.userinfo_overrides: dict[str, Any] = {}
        self.token_response_overrides: dict[str, Any] = {}
        self.callback_params: dict[str, Any] = {}
        self.jwks_extra: list[Any] = []
        self.authorization_error: str | None = None
        self.faults: dict[str, Fault] = {}

        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._codes: dict[str, _Grant] = {}
        self._access_tokens: dict[str, _Grant] = {}
        self._refresh_tokens: dict[str, _Grant] = {}
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def _make_server(self) -> LoopbackServer:
        handler = type("Handler", (_Handler,), {"op": self})
        return LoopbackServer(self._address, handler)

    @property
    def port(self) -> int:
        """The port it listens on (``start()`` first)."""
        if self._server is None:
            raise RuntimeError("the provider is not started")
        return int(self._server.server_address[1])

    @property
    def issuer(self) -> str:
        """Its issuer identifier, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self._address[0]}:{self.port}{self.issuer_path}"

    @property
    def base_url(self) -> str:
        """The URL its endpoint paths are appended to."""
        return self.issuer.rstrip("/")

    def url(self, endpoint: str) -> str:
        """The URL of an endpoint by name (``token``, ``jwks``, ...)."""
        path = next(p for p, name in _ENDPOINTS.items() if name == endpoint)
        return self.base_url + path

    def count(self, endpoint: str) -> int:
        """How many requests ``endpoint`` received."""
        with self._lock:
            return self.requests.count(endpoint)

    # Keys

    def publish_key(self, alg: str | None = None) -> Key:
        """Generate and publish one more key (not used to sign)."""
        self._key_number += 1
        key = _generate_key(alg or self.signing_alg, f"key-{self._key_number}")
        self.published_keys.append(key)
        return key

    def rotate_signing_key(self, *, keep_old: bool = False) -> Key:
        """Sign with a new key from now on, published instead of (or beside) the old one."""
        old = self.signing_key
        self.signing_key = self.publish_key()
        if not keep_old:
            self.published_keys.remove(old)
        return self.signing_key

    def jwks(self) -> dict[str, Any]:
        """The JWK Set it publishes."""
        keys: list[Any] = [key.as_dict(private=False) for key in self.published_keys]
        return {"keys": keys + list(self.jwks_extra)}

    # Documents and tokens

    def discovery_document(self) -> dict[str, Any]:
        """Its metadata (OIDC Discovery §3), with ``discovery_overrides`` applied."""
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("authorize"),
            "token_endpoint": self.url("token"),
            "userinfo_endpoint": self.url("userinfo"),
            "jwks_uri": self.url("jwks"),
            "revocation_endpoint": self.url("revocation"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.signing_alg],
            "token_endpoint_auth_methods_supported": self.token_endpoint_auth_methods,
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": ["sub", "email", "email_verified", "name", "picture"],
            "authorization_response_iss_parameter_supported": True,
        }
        return _apply(document, self.discovery_overrides)

    def _id_token(self, grant: _Grant, access_token: str, code: str | None) -> str:
        now = int(self._clock().timestamp())
        claims: dict[str, Any] = {
            **grant.claims,
            "iss": self.issuer,
            "aud": self.client_id,
            "exp": now + 600,
            "iat": now,
            "auth_time": now,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        alg = self.signing_key.alg or self.signing_alg
        hash_alg = "HS256" if self.signing.startswith("hs256") else alg
        claims["at_hash"] = _half_hash(access_token, hash_alg)
        if self.include_c_hash and code is not None:
            claims["c_hash"] = _half_hash(code, hash_alg)
        claims = _apply(claims, self.id_token_claims)
        header = {"alg": alg, "typ": "JWT", "kid": self.signing_key.kid}
        return self.sign(header, claims)

    def sign(self, header: dict[str, Any], claims: Mapping[str, Any]) -> str:
        """A JWT of ``claims``, signed the way ``signing`` says, ``id_token_header`` applied."""
        payload = json.dumps(claims, separators=(",", ":"))
        mode = self.signing
        if mode in ("none", "hs256-public-key", "hs256-client-secret"):
            header = {**header, "alg": "none" if mode == "none" else "HS256"}
        header = _apply(header, self.id_token_header)
        if mode == "none":
            return self._raw_jwt(header, payload, None)
        if mode == "hs256-public-key":
            # The attack the RP must refuse; joserfc rightly will not build it
            # (it refuses a public key as an HMAC secret), so it is spelt out here.
            assert not isinstance(self.signing_key, OctKey)
            public_pem = self.signing_key.as_pem(private=False)
            return self._raw_jwt(header, payload, public_pem)
        if mode == "hs256-client-secret":
            key: Key = OctKey.import_key(self.client_secret)
        elif mode == "embedded-jwk":
            key = _generate_key(self.signing_alg, "attacker")
            header = {**header, "jwk": key.as_dict(private=False)}
        elif mode == "unpublished-key":
            key = _generate_key(self.signing_alg, "unpublished")
            header = {**header, "kid": "unpublished"}
        else:
            key = self.signing_key
        # Signed by joserfc's algorithm directly, past its header checks: the
        # provider must be able to send headers (crit, b64, jwk) a real one would not.
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(payload.encode())}"
        signature = jws.JWSRegistry.algorithms[header["alg"]].sign(signing_input.encode(), key)
        if mode == "bad-signature":
            signature = bytes([signature[0] ^ 0x01]) + signature[1:]
        return f"{signing_input}.{_b64(signature)}"

    @staticmethod
    def _raw_jwt(header: Mapping[str, Any], payload: str, hmac_key: bytes | None) -> str:
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(payload.encode())}"
        if hmac_key is None:
            return signing_input + "."
        mac = hmac.new(hmac_key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"

    # Driving the authorization endpoint without a browser

    def login(self, authorization_url: str, *, sub: str | None = None, email: str = "") -> str:
        """Follow ``authorization_url`` like a browser and return the callback URL.

        When the sign-in form is shown (``auto_approve`` off), submits it as
        ``sub`` (by default ``user["sub"]``) with ``email``.
        """
        with httpx.Client(follow_redirects=False, timeout=10) as client:
            response = client.get(authorization_url)
            if response.status_code == 200 and "<form" in response.text:
                form = dict(parse_qsl(urlsplit(authorization_url).query))
                form.update({"sub": sub or str(self.user["sub"]), "email": email})
                response = client.post(self.url("authorize"), data=form)
            if response.status_code not in (302, 303):
                raise RuntimeError(f"the authorization request failed: {response.status_code}")
            return response.headers["location"]

    # Request handling, called by _Handler

    def _authorize(
        self, params: dict[str, str], *, submitted: bool
    ) -> tuple[int, dict[str, str], str]:
        """(status, headers, HTML body) for an authorization request."""
        client_id = params.get("client_id")
        redirect_uri = params.get("redirect_uri", "")
        if client_id != self.client_id or not redirect_uri:
            return 400, {}, "<p>Unknown client or missing redirect_uri.</p>"
        if self.redirect_uris and redirect_uri not in self.redirect_uris:
            return 400, {}, "<p>This redirect_uri is not registered.</p>"

        def redirect(answer: dict[str, Any]) -> tuple[int, dict[str, str], str]:
            answer = {**answer, "iss": self.issuer}
            if "state" in params:
                answer["state"] = params["state"]
            answer = _apply(answer, self.callback_params)
            separator = "&" if urlsplit(redirect_uri).query else "?"
            location = f"{redirect_uri}{separator}{urlencode(answer)}"
            return 302, {"Location": location}, ""

        scopes = params.get("scope", "").split()
        challenge = params.get("code_challenge")
        if self.authorization_error is not None:
            return redirect({"error": self.authorization_error})
        if params.get("response_type") != "code":
            return redirect({"error": "unsupported_response_type"})
        if "openid" not in scopes:
            return redirect({"error": "invalid_scope"})
        if challenge is not None and params.get("code_challenge_method") != "S256":
            return redirect({"error": "invalid_request", "error_description": "S256 only"})
        if challenge is None and self.require_pkce:
            return redirect({"error": "invalid_request", "error_description": "PKCE required"})

        if submitted:
            sub = params.get("sub", "").strip()
            if not sub:
                return 400, {}, "<p>A subject is required.</p>"
            claims: dict[str, Any] = {
                "sub": sub,
                "preferred_username": sub,
                "name": sub,
                "email": params.get("email") or f"{sub}@example.test",
                "email_verified": True,
            }
        elif self.auto_approve:
            claims = dict(self.user)
        else:
            return 200, {}, self._login_form(params)
        code = secrets.token_urlsafe(32)
        grant = _Grant(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            claims=claims,
            scope=" ".join(scopes),
            nonce=params.get("nonce"),
            code_challenge=challenge,
            issued_at=self._clock().timestamp(),
        )
        with self._lock:
            self._codes[code] = grant
        return redirect({"code": code})

    def _login_form(self, params: Mapping[str, str]) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("sub", "email")
        )
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Local OpenID provider</title></head><body>"
            "<h1>Sign in to the local OpenID provider</h1>"
            "<p>For development and tests only.</p>"
            f'<form method="post" action="{html.escape(self.url("authorize"))}">{hidden}'
            '<p><label>Subject <input name="sub" required autofocus></label></p>'
            '<p><label>Email <input name="email" type="email"></label></p>'
            '<p><button type="submit">Sign in</button></p></form></body></html>'
        )

    def _client_auth(self, headers: Mapping[str, str], form: dict[str, str]) -> bool:
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            if "client_secret" in form:
                return False  # RFC 6749 §2.3: one method only
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode()
            except ValueError:
                return False
            client_id, _, secret = decoded.partition(":")
            method = "client_secret_basic"
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            method = "client_secret_post"
        return (
            method in self.token_endpoint_auth_methods
            and hmac.compare_digest(client_id.encode(), self.client_id.encode())
            and hmac.compare_digest(secret.encode(), self.client_secret.encode())
        )

    def _token(self, headers: Mapping[str, str], form: dict[str, str]) -> tuple[int, Any]:
        """(status, JSON body) for a token request."""
        if not self._client_auth(headers, form):
            return 401, {"error": "invalid_client"}
        grant_type = form.get("grant_type")
        code: str | None = None
        if grant_type == "authorization_code":
            code = form.get("code", "")
            with self._lock:
                grant = self._codes.pop(code, None)  # single use
            if grant is None:
                return 400, {"error": "invalid_grant"}
            if self._clock().timestamp() - grant.issued_at > CODE_LIFETIME:
                return 400, {"error": "invalid_grant", "error_description": "expired code"}
            if form.get("redirect_uri") != grant.redirect_uri:
                return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
            verifier = form.get("code_verifier")
            if grant.code_challenge is not None or verifier is not None:
                digest = _b64(hashlib.sha256((verifier or "").encode("ascii")).digest())
                if verifier is None or not hmac.compare_digest(digest, grant.code_challenge or ""):
                    return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        elif grant_type == "refresh_token":
            with self._lock:
                found = self._refresh_tokens.get(form.get("refresh_token", ""))
            if found is None:
                return 400, {"error": "invalid_grant"}
            grant = replace(found, nonce=None)
        else:
            return 400, {"error": "unsupported_grant_type"}

        access_token = secrets.token_urlsafe(32)
        refresh_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[access_token] = grant
            self._refresh_tokens[refresh_token] = grant
        answer = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh_token,
            "scope": grant.scope,
            "id_token": self._id_token(grant, access_token, code),
        }
        return 200, _apply(answer, self.token_response_overrides)

    def _userinfo(self, headers: Mapping[str, str]) -> tuple[int, Any]:
        authorization = headers.get("authorization", "")
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        with self._lock:
            grant = self._access_tokens.get(token)
        if grant is None:
            return 401, {"error": "invalid_token"}
        return 200, _apply(grant.claims, self.userinfo_overrides)

    def _revoke(self, headers: Mapping[str, str], form: dict[str, str]) -> tuple[int, Any]:
        if not self._client_auth(headers, form):
            return 401, {"error": "invalid_client"}
        token = form.get("token", "")
        with self._lock:
            self._access_tokens.pop(token, None)
            self._refresh_tokens.pop(token, None)
        return 200, {}


class _Handler(BaseHTTPRequestHandler):
    op: LocalOIDCProvider
    server_version = "LocalOIDCProvider"

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines carry state and nonce; keep them out of stderr.
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        op = self.op
        url = urlsplit(self.path)
        prefix = urlsplit(op.base_url).path
        path = url.path[len(prefix) :] if url.path.startswith(prefix) else url.path
        endpoint = _ENDPOINTS.get(path)
        if endpoint is None:
            self._send(404, b"not found", "text/plain")
            return
        with op._lock:
            op.requests.append(endpoint)
        if self._fault(op.faults.get(endpoint)):
            return
        form: dict[str, str] = {}
        if self.command == "POST":
            length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
            form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if endpoint == "discovery":
            self._json(200, op.discovery_document())
        elif endpoint == "jwks":
            self._json(200, op.jwks())
        elif endpoint == "authorize":
            params = dict(parse_qsl(url.query)) if self.command == "GET" else form
            status, extra, body = op._authorize(params, submitted=self.command == "POST")
            self._send(status, body.encode(), "text/html; charset=utf-8", extra)
        elif endpoint == "token" and self.command == "POST":
            self._json(*op._token(headers, form))
        elif endpoint == "userinfo":
            self._json(*op._userinfo(headers))
        elif endpoint == "revocation" and self.command == "POST":
            self._json(*op._revoke(headers, form))
        else:
            self._send(405, b"method not allowed", "text/plain")

    def _fault(self, fault: Fault | None) -> bool:
        if fault is None:
            return False
        if fault == "hang":
            self.op._stopping.wait(60)
        elif fault == "close":
            self.close_connection = True
        elif fault == "500":
            self._send(500, b"Internal Server Error", "text/plain")
        elif fault == "html":
            self._send(200, b"<!doctype html><html><body>Maintenance</body></html>", "text/html")
        elif fault == "not-json":
            self._send(200, b"{this is not json", "application/json")
        elif fault == "empty":
            self._send(200, b"{}", "application/json")
        return True

    def _json(self, status: int, body: Any) -> None:
        headers = {"Cache-Control": "no-store"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="token", Bearer error="invalid_token"'
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
