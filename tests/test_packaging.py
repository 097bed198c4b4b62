"""Packaging: each module's imports are installed by the extra it belongs to.

A module is read statically (its module-level imports, outside ``TYPE_CHECKING``,
followed through lucia's own modules), its third-party imports are mapped to the
distributions that provide them, and those must be among what ``pip install
lucia-auth[<extra>]`` installs: the core dependencies, the extra's requirements
and everything they require in turn. So ``import lucia.integrations.flask``
works after ``pip install lucia-auth[flask]``, and a core module never needs an
extra. (``make package`` checks the other half on a real install: the wheel in a
clean environment, core only.)
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]

# The extra a module's users install; modules not listed belong to the core.
EXTRA_OF = {
    "lucia.adapters.postgres": "postgres",
    "lucia.adapters.mysql": "mysql",
    "lucia.adapters.redis": "redis",
    "lucia.adapters.sqlalchemy": "sqlalchemy",
    # The stores' generated driver pairs and what those share, with their extra.
    "lucia.adapters._async.postgres": "postgres",
    "lucia.adapters._sync.postgres": "postgres",
    "lucia.adapters._postgres_base": "postgres",
    "lucia.adapters._async.redis": "redis",
    "lucia.adapters._sync.redis": "redis",
    "lucia.adapters._redis_hooks": "redis",
    "lucia.adapters._redis_compat": "redis",
    "lucia.adapters._async.mysql": "mysql",
    "lucia.adapters._sync.mysql": "mysql",
    "lucia.adapters._mysql_base": "mysql",
    "lucia.adapters._async.sqlalchemy": "sqlalchemy",
    "lucia.adapters._sync.sqlalchemy": "sqlalchemy",
    "lucia.adapters._sqlalchemy_base": "sqlalchemy",
    "lucia.oauth": "oauth",
    "lucia.testing": "oauth",
    # Shared by the framework integrations, whose every extra includes oauth's.
    "lucia.integrations._passwords": "oauth",
    "lucia.integrations.starlette": "starlette",
    "lucia.integrations.fastapi": "fastapi",
    "lucia.integrations.flask": "flask",
    "lucia.integrations.django": "django",
    "lucia.demo": "demo",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    _module_name(path): path
    for path in sorted(SRC.rglob("*.py"))
    if "migrations" not in path.parts  # run by Django's migrate, under the django extra
}


def extra_of(module: str) -> str | None:
    for prefix, extra in EXTRA_OF.items():
        if module == prefix or module.startswith(prefix + "."):
            return extra
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@cache
def direct_imports(module: str) -> frozenset[str]:
    """Dotted names imported when ``module`` is imported (not inside functions)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and not _is_type_checking(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return frozenset(found)


def third_party_imports(module: str) -> set[str]:
    """Top-level third-party packages imported by ``module``, through lucia's own modules."""
    seen: set[str] = set()
    todo = [module]
    external: set[str] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        # Importing a.b.c imports a and a.b first.
        parts = current.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]))
        for name in direct_imports(current):
            top = name.split(".")[0]
            if top == "lucia":
                todo.extend(n for n in (name, name.rpartition(".")[0]) if n in MODULES)
            elif top not in sys.stdlib_module_names and top != "__future__":
                external.add(top)
    return external


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def _closure(requirement: str) -> frozenset[str]:
    """A requirement's distribution and everything it requires, as installed here."""
    req = Requirement(requirement)
    names = {_normalize(req.name)}
    try:
        requires = importlib.metadata.requires(req.name) or []
    except importlib.metadata.PackageNotFoundError:
        return frozenset(names)
    for raw in requires:
        dep = Requirement(raw)
        environments = [{"extra": extra} for extra in req.extras] or [{"extra": ""}]
        if dep.marker is None or any(dep.marker.evaluate(env) for env in environments):
            names |= _closure(str(dep.name) + (f"[{','.join(dep.extras)}]" if dep.extras else ""))
    return frozenset(names)


def installed_by(extra: str | None) -> set[str]:
    """The distributions ``pip install lucia-auth[extra]`` installs."""
    requirements = list(PROJECT["dependencies"])
    pending = [extra] if extra else []
    while pending:
        for raw in PROJECT["optional-dependencies"][pending.pop()]:
            req = Requirement(raw)
            if _normalize(req.name) == _normalize(PROJECT["name"]):
                pending.extend(req.extras)  # lucia-auth[oauth]: another extra
            else:
                requirements.append(raw)
    names: set[str] = set()
    for raw in requirements:
        names |= _closure(raw)
    return names


PACKAGES = importlib.metadata.packages_distributions()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_come_with_its_extra(module: str) -> None:
    extra = extra_of(module)
    available = installed_by(extra)
    missing = {}
    for top in third_party_imports(module):
        distributions = {_normalize(d) for d in PACKAGES.get(top, [top])}
        if not distributions & available:
            missing[top] = sorted(distributions)
    where = f"lucia-auth[{extra}]" if extra else "lucia-auth (no extra)"
    assert not missing, f"{module} imports {missing}, not installed by {where}"


def test_every_extra_named_here_exists() -> None:
    # A renamed extra must not leave modules checked against nothing.
    assert set(EXTRA_OF.values()) <= set(PROJECT["optional-dependencies"])


def test_version_lives_in_about_only() -> None:
    assert "version" not in PROJECT
    assert "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "src/lucia/__about__.py"
    import lucia

    about = (SRC / "lucia" / "__about__.py").read_text(encoding="utf-8")
    assert f'__version__ = "{lucia.__version__}"' in about
