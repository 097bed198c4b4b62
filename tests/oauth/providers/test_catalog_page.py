"""The docs' provider catalog page (docs/oauth/providers.md), which the MkDocs hook
docs/hooks/providers.py fills from the registry: one row per registered provider,
its own page linked, and every provider page listed."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from mkdocs.structure.files import File, Files

from lucia.oauth.providers.registry import describe, providers
from lucia.oauth.providers.spec import Parameter

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "oauth" / "providers.md"


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_providers_hook", ROOT / "docs/hooks/providers.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def site_files(tmp_path: Path, pages: dict[str, str]) -> Files:
    """The site's files: ``pages`` (source path: text) written under ``tmp_path``."""
    docs = tmp_path / "docs"
    for uri, text in pages.items():
        (docs / uri).parent.mkdir(parents=True, exist_ok=True)
        (docs / uri).write_text(text)
    site = str(tmp_path / "site")
    return Files([File(uri, str(docs), site, use_directory_urls=True) for uri in pages])


def render(hook: ModuleType, files: Files, markdown: str, uri: str = "oauth/providers.md") -> str:
    page = SimpleNamespace(file=SimpleNamespace(src_uri=uri))
    rendered: str = hook.on_page_markdown(markdown, page=page, config={}, files=files)
    return rendered


def rows(markdown: str) -> dict[str, list[str]]:
    """The table's rows by slug (the second column), cells stripped."""
    found = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 8 and cells[1].startswith("`"):
            found[cells[1].strip("`")] = cells
    return found


def test_one_row_per_registered_provider_as_the_cli_describes_it(
    hook: ModuleType, tmp_path: Path
) -> None:
    table = rows(render(hook, site_files(tmp_path, {}), PAGE.read_text()))
    assert list(table) == list(providers())
    for slug, cls in providers().items():
        entry = describe(cls)
        _, _, _, scopes, pkce, refresh, revoke, email = table[slug]
        assert pkce == ("S256" if entry["pkce"] == "S256" else "no")
        assert refresh == ("yes" if entry["refresh"] else "no")
        assert revoke == ("yes" if entry["revoke"] else "no")
        for scope in entry["scopes"]:
            assert f"`{scope}`" in scopes
        assert (email == "no email") == (not entry["email"]["available"])
    github = table["github"]
    assert github[2] == "`enterprise_url` (optional)"
    assert github[7] == "yes, with the provider's verified flag"
    assert table["openid"][2] == "`issuer`"


def test_a_providers_own_page_is_linked(hook: ModuleType, tmp_path: Path) -> None:
    files = site_files(tmp_path, {"oauth/providers/github.md": "# Sign in with GitHub\n"})
    table = rows(render(hook, files, PAGE.read_text()))
    assert table["github"][0] == "[GitHub](providers/github.md)"
    assert table["discord"][0] == "Discord"


def test_every_provider_page_is_listed_by_its_title(hook: ModuleType, tmp_path: Path) -> None:
    files = site_files(
        tmp_path,
        {
            "oauth/providers/github.md": "# Sign in with GitHub\n\nText.\n",
            # A page for several providers, named after none of them.
            "oauth/providers/domains.md": "Intro.\n\n# Okta, Auth0 and Keycloak\n",
            "oauth/other.md": "# Not a provider page\n",
        },
    )
    rendered = render(hook, files, PAGE.read_text())
    listed = re.findall(r"^- \[(.+)\]\((.+)\)$", rendered, re.MULTILINE)
    assert listed == [
        ("Okta, Auth0 and Keycloak", "providers/domains.md"),
        ("Sign in with GitHub", "providers/github.md"),
    ]
    assert "<!-- providers:" not in rendered


def test_parameters_show_their_default_or_that_they_are_optional(hook: ModuleType) -> None:
    assert hook._parameter(Parameter("tenant", default="common")) == ("`tenant` (default `common`)")
    assert hook._parameter(Parameter("base_url", "url", optional=True)) == ("`base_url` (optional)")
    assert hook._parameter(Parameter("realm")) == "`realm`"
    assert hook._cell("a|b\nc") == "a\\|b c"


def test_other_pages_are_left_alone_and_the_page_needs_its_marks(
    hook: ModuleType, tmp_path: Path
) -> None:
    files = site_files(tmp_path, {})
    text = "<!-- providers: catalog -->\n"
    assert render(hook, files, text, uri="oauth.md") == text
    with pytest.raises(ValueError, match="providers: pages"):
        render(hook, files, text)
