"""MkDocs hook: pages that render files written elsewhere in the repository.

Some pages show files that other parts of the project produce, possibly later
than the docs: the root ``SECURITY.md`` and ``make bench``'s results
(``benchmarks/results/results.md`` and ``results.png``). A page marks the place
with::

    <!-- optional: SECURITY.md -->
    Text shown while the file does not exist yet.
    <!-- /optional -->

When the file exists, the block becomes its content (the benchmark plot, an
image: a link to its published copy); when it does not, the
fallback text stays, so ``mkdocs build --strict`` passes either way. Links in an
included file are written relative to that file in the repository: links to
documentation pages are rewritten to the site's pages, links to other repository
files become code spans (the site has no copy of them), so they never break the
build. A page listed in ``PENDING_PAGES`` that nobody has written yet is
published as a one-line stub, so the navigation and the links to it hold.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
BENCH_PLOT = ROOT / "benchmarks" / "results" / "results.png"
BENCH_PLOT_URI = "assets/bench/results.png"
# Mermaid from the site itself, not a CDN: readers' browsers ask no third party
# for the diagrams (`make docs` installs it with npm into docs/node).
MERMAID_JS = ROOT / "docs" / "node" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
MERMAID_URI = "assets/javascripts/mermaid.min.js"

_BLOCK = re.compile(
    r"<!-- optional: (?P<path>[^ ]+) -->\n(?P<fallback>.*?)<!-- /optional -->", re.DOTALL
)
# [text](target) that is not an image; the target has no scheme and no leading '#'.
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>(?![a-z][a-z0-9+.-]*:|#)[^)\s]+)\)")
_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<target>(?![a-z][a-z0-9+.-]*:)[^)\s]+)\)")


# Pages other people write; until one exists, a stub keeps the nav and links valid.
PENDING_PAGES = {
    "tokens.md": "One-time tokens",
    "rate-limiting.md": "Rate limiting",
}


def on_config(config: Any) -> Any:
    """Load Mermaid from the site when it is installed.

    Material for MkDocs fetches Mermaid from a CDN only when no ``mermaid`` is
    defined on the page; without the npm package (a plain ``mkdocs serve``)
    the pages keep that fallback instead of a script that would 404.
    """
    if MERMAID_JS.is_file() and MERMAID_URI not in config["extra_javascript"]:
        config["extra_javascript"].append(MERMAID_URI)
    return config


def on_files(files: Files, config: Any) -> Files:
    """Publish the benchmark plot when ``make bench`` has produced it, Mermaid when
    installed, and stub pending pages."""
    if BENCH_PLOT.is_file():
        files.append(File.generated(config, BENCH_PLOT_URI, abs_src_path=str(BENCH_PLOT)))
    if MERMAID_JS.is_file():
        files.append(File.generated(config, MERMAID_URI, abs_src_path=str(MERMAID_JS)))
    for uri, title in PENDING_PAGES.items():
        if files.get_file_from_path(uri) is None:
            stub = f"# {title}\n\nThis page is being written.\n"
            files.append(File.generated(config, uri, content=stub))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Replace each optional block with its file, when the file exists."""
    page_dir = posixpath.dirname(page.file.src_uri)

    def include(match: re.Match[str]) -> str:
        rel = match.group("path")
        path = ROOT / rel
        if not path.is_file():
            return match.group("fallback")
        if path.resolve() == BENCH_PLOT:
            rel = posixpath.relpath(BENCH_PLOT_URI, page_dir or ".")
            return f"![The benchmark plot of make bench]({rel})\n"
        text = path.read_text(encoding="utf-8")
        text = _shift_headings(text)
        return _relink(text, posixpath.dirname(rel), page_dir)

    return _BLOCK.sub(include, markdown)


def _shift_headings(text: str) -> str:
    """Demote the included file's headings one level, under the page's own title."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and re.match(r"#{1,5} ", line):
            line = "#" + line
        out.append(line)
    return "\n".join(out) + "\n"


def _relink(text: str, source_dir: str, page_dir: str) -> str:
    """Make the included file's relative links valid from the page that includes it."""

    def link(match: re.Match[str]) -> str:
        target = match.group("target")
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(source_dir, path)) if path else ""
        if repo_path.startswith("docs/") and repo_path.endswith(".md"):
            rel = posixpath.relpath(repo_path[len("docs/") :], page_dir or ".")
            return f"[{match.group('text')}]({rel}{'#' + anchor if anchor else ''})"
        if repo_path.endswith(".md") and (ROOT / "docs" / repo_path).is_file():
            return f"[{match.group('text')}]({posixpath.relpath(repo_path, page_dir or '.')})"
        return f"{match.group('text')} (`{repo_path or target}`)"

    def image(match: re.Match[str]) -> str:
        path = posixpath.normpath(posixpath.join(source_dir, match.group("target")))
        if (ROOT / path).resolve() == BENCH_PLOT and BENCH_PLOT.is_file():
            rel = posixpath.relpath(BENCH_PLOT_URI, page_dir or ".")
            return f"![{match.group('alt')}]({rel})"
        if path.startswith("docs/") and (ROOT / path).is_file():
            rel = posixpath.relpath(path[len("docs/") :], page_dir or ".")
            return f"![{match.group('alt')}]({rel})"
        return f"*({match.group('alt') or path}: not published)*"

    return _LINK.sub(link, _IMAGE.sub(image, text))
