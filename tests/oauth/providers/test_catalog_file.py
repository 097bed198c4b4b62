"""``catalog.toml``, lucia's providers as data, and its strict loader (``catalog.py``):
every entry loads into the spec its provider class has, and an entry that is not a
spec is refused naming its slug and key."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pickle
import pkgutil
import threading
from pathlib import Path
from typing import Any

import pytest

from lucia.__about__ import __version__
from lucia.oauth.providers import OAuthProvider, OIDCSpecProvider, SpecProvider, catalog
from lucia.oauth.providers.catalog import CatalogError, entries, entry, read_catalog
from lucia.oauth.providers.github import GitHub
from lucia.oauth.providers.registry import catalog_class, providers, spec_of
from lucia.oauth.providers.spec import OIDC_USER_FIELDS, Parameter, UserFields, UserInfoRequest

# lucia.oauth's own ``providers`` (the registry's function) hides the package's name.
PACKAGE = importlib.import_module("lucia.oauth.providers")

GOOD = """
[acme]
class = "Acme"
summary = "Acme accounts."
notes = "Acme's quirks."
name = "Acme"
authorization_endpoint = "https://id.acme.test/authorize"
token_endpoint = "https://id.acme.test/token"
userinfo_endpoint = "https://api.acme.test/me"
scopes = ["profile", "email"]
headers = { User-Agent = "lucia-{lucia_version} {client_id}" }
docs = ["https://acme.test/docs"]

[[acme.parameters]]
name = "region"
default = "eu"
description = "the region"

[acme.userinfo]
method = "POST"
query = { v = "2" }

[acme.user]
id = "user_id"
name = ["display_name", "login"]
email_verified = "verified"

[acme-id]
class = "AcmeID"
module = "acme_id"
name = "Acme ID"
protocol = "oidc"
issuer = "https://id.acme.test"
authorization_endpoint = "https://id.acme.test/authorize"
token_endpoint = "https://id.acme.test/token"
jwks_uri = "https://id.acme.test/jwks"
docs = ["https://acme.test/openid"]

[acme-id.user]
name = false
string_booleans = true
"""

# The plain entry above, as a header and its lines: each refusal test changes one.
PLAIN = """
[acme]
class = "Acme"
summary = "Acme accounts."
name = "Acme"
authorization_endpoint = "https://id.acme.test/authorize"
token_endpoint = "https://id.acme.test/token"
userinfo_endpoint = "https://api.acme.test/me"
docs = ["https://acme.test/docs"]
"""


def test_a_good_entry_is_the_spec_it_says() -> None:
    read = read_catalog(GOOD)
    acme, acme_id = read["acme"], read["acme-id"]
    assert (acme.class_name, acme.module) == ("Acme", None)
    assert acme.doc == "Acme accounts.\n\nAcme's quirks."
    spec = acme.spec
    assert spec.slug == "acme"
    assert spec.scopes == ("profile", "email")  # arrays are tuples
    assert spec.docs == ("https://acme.test/docs",)
    assert spec.parameters == (Parameter("region", default="eu", description="the region"),)
    assert spec.userinfo == UserInfoRequest(method="POST", query={"v": "2"})
    assert spec.user == UserFields(
        id="user_id", name=("display_name", "login"), email_verified="verified"
    )
    assert spec.headers == {"User-Agent": f"lucia-{__version__} {{client_id}}"}
    assert spec.pkce == "S256"  # ProviderSpec's defaults for what is not said
    assert (acme_id.class_name, acme_id.module, acme_id.doc) == ("AcmeID", "acme_id", None)
    # An OpenID provider's user table changes the standard claims' fields only where it says.
    expected = UserFields(
        id="sub",
        email="email",
        email_verified="email_verified",
        name=None,
        username="preferred_username",
        avatar_url="picture",
        string_booleans=True,
    )
    assert acme_id.spec.user == expected
    assert OIDC_USER_FIELDS.name == "name"


def refused(text: str, *fragments: str) -> None:
    with pytest.raises(CatalogError) as raised:
        read_catalog(text)
    for fragment in fragments:
        assert fragment in str(raised.value), (fragment, str(raised.value))


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("colour = 'red'", "acme.colour"),
        ("slug = 'other'", "acme.slug"),
        ("user = { login = 'login' }", "acme.user.login"),
        ("userinfo = { verb = 'GET' }", "acme.userinfo.verb"),
        ("parameters = [{ name = 'region', flavour = 'x' }]", "acme.parameters[0].flavour"),
    ],
)
def test_an_unknown_key_is_refused(extra: str, key: str) -> None:
    refused(PLAIN + extra, key, "unknown key")


@pytest.mark.parametrize(
    ("extra", "key", "expected"),
    [
        ("scopes = 'email'", "acme.scopes", "an array of strings"),
        ("scopes = ['email', 3]", "acme.scopes[1]", "a string"),
        ("refresh = 'yes'", "acme.refresh", "true or false"),
        ("revocation_endpoint = 42", "acme.revocation_endpoint", "a string or false"),
        ("user = { name = 7 }", "acme.user.name", "a string or an array of strings"),
        ("user = { string_booleans = 'true' }", "acme.user.string_booleans", "true or false"),
        ("user = 'id'", "acme.user", "a table"),
        ("headers = { X-Version = 2 }", "acme.headers.X-Version", "a string"),
        ("parameters = { name = 'region' }", "acme.parameters", "an array of tables"),
        ("parameters = [{ name = 'region', optional = 'no' }]", "acme.parameters[0].optional", ""),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(extra: str, key: str, expected: str) -> None:
    refused(PLAIN + extra, key, expected)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("pkce = 'plain'", "acme.pkce"),
        ("protocol = 'saml'", "acme.protocol"),
        ("email = 'trusted'", "acme.email"),
        ("token_auth = 'private_key_jwt'", "acme.token_auth"),
        ("errors = 'http'", "acme.errors"),
        ("userinfo = { method = 'PUT' }", "acme.userinfo.method"),
        ("parameters = [{ name = 'region', kind = 'path' }]", "acme.parameters[0].kind"),
        ("pkce = true", "acme.pkce"),
    ],
)
def test_a_value_outside_its_literal_set_is_refused(extra: str, key: str) -> None:
    refused(PLAIN + extra, key, "is not one of")


def test_what_the_spec_itself_refuses_names_the_slug() -> None:
    refused(PLAIN.replace("/me", "/{tenant}/me"), "acme", "undeclared ['tenant']")


def test_a_missing_required_value_is_refused() -> None:
    refused(PLAIN.replace('name = "Acme"\n', ""), "acme.name", "missing")
    refused(PLAIN.replace('docs = ["https://acme.test/docs"]\n', ""), "acme.docs", "missing")


def test_the_class_and_its_docstring_are_required() -> None:
    refused(PLAIN.replace('class = "Acme"\n', ""), "acme.class", "missing")
    refused(PLAIN.replace('class = "Acme"', 'class = "Acme Inc"'), "acme.class", "Python name")
    refused(PLAIN.replace('summary = "Acme accounts."\n', ""), "acme.summary", "missing")
    # A class in a module has its docstrings there, not here too.
    refused(PLAIN + "module = 'acme'", "acme.summary", "in a module")
    refused(PLAIN.replace('"Acme accounts."', "1"), "acme.summary", "string")


def test_a_file_that_is_not_toml_is_refused() -> None:
    refused(PLAIN + "scopes = [", "catalog.toml")
    refused("acme = 1", "acme", "a table")


# lucia's own catalog


def test_every_entry_loads_and_every_registered_slug_has_one() -> None:
    found = entries()
    registered = providers()
    assert sorted(found) == sorted(registered)
    for slug, cls in registered.items():
        assert cls.__name__ == found[slug].class_name, slug
        assert spec_of(cls) is found[slug].spec, slug
        # Every provider class is public under its name, wherever it is defined.
        assert getattr(PACKAGE, cls.__name__) is cls, slug


MADE = sorted(slug for slug, found in entries().items() if found.module is None)


@pytest.mark.parametrize("slug", MADE)
def test_a_provider_without_hooks_is_a_class_made_from_its_entry(slug: str) -> None:
    found = entry(slug)
    cls = catalog_class(slug)
    assert cls is catalog_class(slug) is providers()[slug]
    base = OIDCSpecProvider if found.spec.protocol == "oidc" else SpecProvider
    assert cls.__bases__ == (base,)
    assert cls.__module__ == "lucia.oauth.providers"
    assert cls.__qualname__ == cls.__name__ == found.class_name
    assert cls.__doc__ == found.doc
    assert found.summary is not None
    assert found.doc is not None
    assert found.doc.startswith(found.summary.strip())
    assert pickle.loads(pickle.dumps(cls)) is cls  # found again by its public path
    assert cls.name == slug


def test_type_checkers_see_each_made_provider_as_a_class_of_its_base() -> None:
    """``lucia/oauth/providers/__init__.py`` declares each made class under
    ``TYPE_CHECKING`` (tests/typecheck/test_catalog_providers.py uses them)."""
    source = Path(str(PACKAGE.__file__)).read_text(encoding="utf-8")
    declared: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for item in node.body:
                if isinstance(item, ast.ClassDef):
                    declared[item.name] = ast.unparse(item.bases[0])
    expected = {
        entry(slug).class_name: type.__name__
        for slug in MADE
        for type in catalog_class(slug).__bases__
    }
    assert declared == expected


def test_every_provider_module_takes_its_spec_from_the_catalog() -> None:
    """No module of the package holds a spec of its own beside the catalog."""
    modules = {entry.module for entry in entries().values()}
    for info in pkgutil.iter_modules(PACKAGE.__path__):
        module = importlib.import_module(f"{PACKAGE.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, OAuthProvider)
                and value.__module__ == module.__name__
                and "spec" in value.__dict__
            ):
                assert info.name in modules, info.name
                assert value.spec is entry(value.spec.slug).spec, info.name


def test_a_modules_class_must_hold_its_entrys_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GitHub, "spec", dataclasses.replace(GitHub.spec))
    with pytest.raises(TypeError, match="catalog_spec"):
        catalog_class("github")


def test_an_unknown_slug_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        entry("nope")


def test_the_catalog_is_read_once_whatever_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "_entries", None)
    seen: list[Any] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        seen.append(entries())

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(found is seen[0] for found in seen)
    assert entries() is seen[0]
