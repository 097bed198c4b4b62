"""The docs build's hook (docs/hooks/includes.py): optional includes and link rewriting.

``make docs`` (part of ``make test``) builds the whole site with ``--strict``;
these tests pin what the hook does when the included files are absent, present,
or full of repository-relative links.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    pytest.importorskip("mkdocs")
    spec = importlib.util.spec_from_file_location("docs_hook", ROOT / "docs/hooks/includes.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # A repository of our own: these tests must not depend on which files exist today.
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "BENCH_PLOT", tmp_path / "benchmarks/results/results.png")
    monkeypatch.setattr(module, "MERMAID_JS", tmp_path / "mermaid.min.js")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/flask.md").write_text("# Flask\n")
    return module


def page(src_uri: str) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


PAGE = "# Security\n\n<!-- optional: SECURITY.md -->\nNot written yet.\n<!-- /optional -->\n"


def test_missing_file_keeps_the_fallback(hook: ModuleType) -> None:
    out = hook.on_page_markdown(PAGE, page("security.md"), None, None)
    assert "Not written yet." in out
    assert "optional" not in out


def test_present_file_replaces_the_block_with_headings_demoted(
    hook: ModuleType, tmp_path: Path
) -> None:
    text = "# Checklist\n\n## A. Sessions\n\n```\n# not a heading\n```\n"
    (tmp_path / "SECURITY.md").write_text(text)
    out = hook.on_page_markdown(PAGE, page("security.md"), None, None)
    assert "Not written yet." not in out
    assert "## Checklist\n" in out
    assert "### A. Sessions\n" in out
    assert "# not a heading" in out
    assert "## not a heading" not in out


def test_links_are_rewritten_for_the_site(hook: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "SECURITY.md").write_text(
        "[Flask](docs/flask.md#csrf), [a test](tests/test_core.py), "
        "[OWASP](https://owasp.org/x), [top](#a-sessions), ![plot](docs/missing.png)\n"
    )
    out = hook.on_page_markdown(PAGE, page("guides/security.md"), None, None)
    assert "[Flask](../flask.md#csrf)" in out
    assert "a test (`tests/test_core.py`)" in out
    assert "[OWASP](https://owasp.org/x)" in out
    assert "[top](#a-sessions)" in out
    assert "not published" in out


def test_benchmark_plot_is_linked_only_when_it_exists(hook: ModuleType, tmp_path: Path) -> None:
    markdown = "<!-- optional: benchmarks/results/results.png -->\n<!-- /optional -->\n"
    assert "![" not in hook.on_page_markdown(markdown, page("performance.md"), None, None)
    hook.BENCH_PLOT.parent.mkdir(parents=True)
    hook.BENCH_PLOT.write_bytes(b"\x89PNG")
    out = hook.on_page_markdown(markdown, page("performance.md"), None, None)
    assert f"]({hook.BENCH_PLOT_URI})" in out


def test_mermaid_is_served_from_the_site_only_when_installed(
    hook: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

    monkeypatch.setattr(hook, "PENDING_PAGES", {})  # stubs need a plugin run; not tested here
    config = MkDocsConfig()
    config.load_dict({"site_name": "t", "docs_dir": str(tmp_path / "docs")})
    config.validate()
    # File.generated names the plugin running it; outside a build there is none.
    monkeypatch.setattr(config.plugins, "_current_plugin", None, raising=False)

    # Not installed: no script tag that would 404; Material falls back to its CDN.
    assert hook.MERMAID_URI not in hook.on_config(config)["extra_javascript"]
    assert hook.on_files(Files([]), config).get_file_from_path(hook.MERMAID_URI) is None

    (tmp_path / "mermaid.min.js").write_text("window.mermaid = {};")
    scripts = hook.on_config(hook.on_config(config))["extra_javascript"]
    assert scripts.count(hook.MERMAID_URI) == 1  # added once, however often the hook runs
    published = hook.on_files(Files([]), config).get_file_from_path(hook.MERMAID_URI)
    assert published is not None
    assert published.abs_src_path == str(tmp_path / "mermaid.min.js")
