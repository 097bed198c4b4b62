"""MkDocs hook: the provider catalog page (docs/oauth/providers.md), made from lucia's
registry, so the page lists exactly the providers ``lucia providers`` does.

The page marks two places:

    <!-- providers: catalog -->   one table row per registered provider
    <!-- providers: pages -->     a list of the provider pages (docs/oauth/providers/*.md)

A row reads the provider's catalog entry (``lucia.oauth.providers.registry.describe``,
what ``lucia providers --json`` prints) and its spec's parameters (for their
defaults), and links the provider's own page when ``oauth/providers/<slug>.md``
exists. Every page under ``oauth/providers/`` is listed under its first heading,
so a page covering several providers is linked too. A provider that cannot be
imported fails the build (``mkdocs build --strict``) rather than vanish from it.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from mkdocs.structure.files import Files

CATALOG_PAGE = "oauth/providers.md"
PAGES_DIR = "oauth/providers/"
CATALOG_MARK = "<!-- providers: catalog -->"
PAGES_MARK = "<!-- providers: pages -->"

_HEADING = re.compile(r"^# (?P<title>.+?)\s*$", re.MULTILINE)

COLUMNS = (
    "Provider",
    "Slug",
    "Parameters",
    "Default scopes",
    "PKCE",
    "Refresh",
    "Revocation",
    "Email",
)

# describe()'s email entry, in words.
_EMAIL = {
    "flag": "yes, with the provider's verified flag",
    "always": "yes, documented as verified",
    "never": "yes, never marked verified",
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """The catalog page with its table and its list of provider pages filled in."""
    if page.file.src_uri != CATALOG_PAGE:
        return markdown
    if CATALOG_MARK not in markdown or PAGES_MARK not in markdown:
        raise ValueError(f"{CATALOG_PAGE} must hold {CATALOG_MARK} and {PAGES_MARK}")
    return markdown.replace(CATALOG_MARK, catalog_table(files)).replace(
        PAGES_MARK, pages_list(files)
    )


def catalog_table(files: Files) -> str:
    """The Markdown table of every registered provider, in slug order."""
    # Imported here: the other pages build without lucia's OAuth extra.
    from lucia.oauth.providers.registry import describe, providers, spec_of

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for slug, cls in providers().items():
        entry = describe(cls)
        own_page = f"{PAGES_DIR}{slug}.md"
        name = _cell(entry["name"])
        if files.get_file_from_path(own_page) is not None:
            name = f"[{name}]({_relative(own_page)})"
        parameters = [_parameter(p) for p in spec_of(cls).parameters]
        scopes = [f"`{_cell(scope)}`" for scope in entry["scopes"]]
        email = entry["email"]
        cells = (
            name,
            f"`{slug}`",
            ", ".join(parameters) or "none",
            " ".join(scopes) or "none",
            entry["pkce"] if entry["pkce"] != "none" else "no",
            "yes" if entry["refresh"] else "no",
            "yes" if entry["revoke"] else "no",
            _EMAIL[email["verified"]] if email["available"] else "no email",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pages_list(files: Files) -> str:
    """A bullet list linking every page under ``oauth/providers/``, by its title."""
    items = []
    for file in sorted(files.documentation_pages(), key=lambda f: f.src_uri):
        if not (file.src_uri.startswith(PAGES_DIR) and file.src_uri.endswith(".md")):
            continue
        heading = _HEADING.search(file.content_string)
        title = heading.group("title") if heading else posixpath.basename(file.src_uri)[:-3]
        items.append(f"- [{_cell(title)}]({_relative(file.src_uri)})")
    return "\n".join(items) + "\n" if items else "None yet.\n"


def _parameter(parameter: Any) -> str:
    """A parameter as the table shows it: its name, and its default or that it is optional."""
    text = f"`{parameter.name}`"
    if parameter.default is not None:
        return f"{text} (default `{_cell(parameter.default)}`)"
    if parameter.optional:
        return f"{text} (optional)"
    return text


def _relative(src_uri: str) -> str:
    """A link from the catalog page to ``src_uri``."""
    return posixpath.relpath(src_uri, posixpath.dirname(CATALOG_PAGE))


def _cell(text: str) -> str:
    """``text`` safe inside a table cell: no column break, no line break."""
    return text.replace("|", "\\|").replace("\n", " ")
