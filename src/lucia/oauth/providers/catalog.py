"""lucia's own providers as data: ``catalog.toml``, one table per slug, read into ``ProviderSpec``s.

A table holds a ``ProviderSpec``'s fields (its name is the slug) as TOML says them:
arrays for tuples, tables for ``userinfo`` (``UserInfoRequest``), ``user``
(``UserFields``) and the mappings (``authorization_params``, ``headers``), an array of
tables for ``parameters``; ``false`` for a field that is None (a ``UserFields`` path
the provider has no such field at). A ``user`` table changes only the keys it names of
the protocol's own fields (``OIDC_USER_FIELDS`` for ``"oidc"``, ``UserFields()``
otherwise), as a spec without ``user`` has them. ``{lucia_version}`` in a value of
``headers`` (or ``userinfo.headers`` and ``userinfo.query``) is lucia's version. Four
keys are not the spec's:

- ``class``: the provider class's name (``Discord``);
- ``module``: the module of ``lucia.oauth.providers`` that defines that class with
  its hooks (``github``); without it the registry makes the class from the entry
  (``registry.catalog_class``);
- ``summary`` and ``notes``: the docstring of a class made so (a class in a module
  has its own).

The file is read once, on first use, and every entry is checked then: an unknown key,
a value of the wrong type or outside its ``Literal`` set, or a spec ``ProviderSpec``
refuses is a ``CatalogError`` naming the slug and the key. An app's own provider is
still a Python ``ProviderSpec`` (docs/oauth/add-a-provider.md).
"""

from __future__ import annotations

import threading
import tomllib
import types
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from importlib.resources import files
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from lucia.__about__ import __version__
from lucia.oauth.providers.spec import OIDC_USER_FIELDS, ProviderSpec, UserFields

__all__ = ["CatalogEntry", "CatalogError", "catalog_spec", "entries", "entry", "read_catalog"]

PACKAGE = "lucia.oauth.providers"
FILE = "catalog.toml"
# The template name filled when the catalog is read, not when a provider is built.
_VERSION_NAME = "{lucia_version}"
_OWN_KEYS = frozenset({"class", "module", "summary", "notes"})

_lock = threading.Lock()
_HINTS: dict[type[Any], dict[str, Any]] = {}
_entries: Mapping[str, CatalogEntry] | None = None


class CatalogError(ValueError):
    """An entry of the catalog that does not make a ``ProviderSpec``."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One table of the catalog: the spec, and the class it belongs to."""

    spec: ProviderSpec
    class_name: str
    module: str | None = None
    summary: str | None = None
    notes: str | None = None

    @property
    def doc(self) -> str | None:
        """The docstring of the class made from this entry: the summary, then the notes."""
        parts = [part.strip() for part in (self.summary, self.notes) if part]
        return "\n\n".join(parts) or None


def entries() -> Mapping[str, CatalogEntry]:
    """Every entry of lucia's ``catalog.toml``, by slug (read and checked on first use)."""
    global _entries
    found = _entries
    if found is None:
        with _lock:
            if _entries is None:
                text = files(PACKAGE).joinpath(FILE).read_text(encoding="utf-8")
                _entries = types.MappingProxyType(read_catalog(text))
            found = _entries
    return found


def entry(slug: str) -> CatalogEntry:
    """The catalog entry of ``slug``; ``KeyError`` naming it if there is none."""
    found = entries().get(slug)
    if found is None:
        raise KeyError(f"{FILE} has no provider {slug!r}")
    return found


def catalog_spec(slug: str) -> ProviderSpec:
    """The ``ProviderSpec`` of ``slug`` in lucia's catalog: ``spec = catalog_spec("github")``."""
    return entry(slug).spec


def read_catalog(text: str) -> dict[str, CatalogEntry]:
    """The entries of a catalog's TOML ``text``, each checked (``CatalogError``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{FILE}: {exc}") from None
    return {slug: _entry(slug, table) for slug, table in data.items()}


def _entry(slug: str, table: Any) -> CatalogEntry:
    if not isinstance(table, dict):
        raise CatalogError(f"{FILE}, {slug}: a provider is a table")
    own = {key: table[key] for key in _OWN_KEYS & table.keys()}
    for key, value in own.items():
        if not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{FILE}, {slug}.{key}: expected a non-empty string")
    class_name, module = own.get("class"), own.get("module")
    if class_name is None:
        raise CatalogError(f"{FILE}, {slug}.class: missing (the provider class's name)")
    for key, name in (("class", class_name), ("module", module)):
        if name is not None and not name.isidentifier():
            raise CatalogError(f"{FILE}, {slug}.{key}: {name!r} is not a Python name")
    if module is None and "summary" not in own:
        raise CatalogError(f"{FILE}, {slug}.summary: missing (the made class's docstring)")
    if module is not None and own.keys() & {"summary", "notes"}:
        raise CatalogError(f"{FILE}, {slug}.summary: a class in a module has its docstrings there")
    spec_table = {key: value for key, value in table.items() if key not in _OWN_KEYS}
    if "slug" in spec_table:
        raise CatalogError(f"{FILE}, {slug}.slug: unknown key (the table's name is the slug)")
    spec = _build(ProviderSpec, {"slug": slug, **spec_table}, slug)
    return CatalogEntry(
        spec=spec,
        class_name=class_name,
        module=module,
        summary=own.get("summary"),
        notes=own.get("notes"),
    )


def _build(cls: type[Any], table: Any, where: str) -> Any:
    """An instance of the dataclass ``cls`` from ``table``, each value checked against
    its field's type; ``where`` is the table's key path, for the messages."""
    if not isinstance(table, dict):
        raise CatalogError(f"{FILE}, {where}: expected a table, got {_shown(table)}")
    hints = _hints(cls)
    known = {item.name: item for item in fields(cls) if item.init}
    for key in table:
        if key not in known:
            raise CatalogError(f"{FILE}, {where}.{key}: unknown key")
    values: dict[str, Any] = {}
    base: Any = None
    for key, value in table.items():
        path = f"{where}.{key}"
        if cls is ProviderSpec and key == "user":
            # Only what differs from the protocol's own fields (the spec's default).
            oidc = table.get("protocol") == "oidc"
            base = OIDC_USER_FIELDS if oidc else UserFields()
            values[key] = replace(base, **_fields_of(UserFields, value, path))
        else:
            values[key] = _convert(value, hints[key], path)
    for name, item in known.items():
        if name in values or item.default is not MISSING or item.default_factory is not MISSING:
            continue
        if type(None) not in get_args(hints[name]):
            raise CatalogError(f"{FILE}, {where}.{name}: missing")
        values[name] = None
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"{FILE}, {where}: {exc}") from None


def _fields_of(cls: type[Any], table: Any, where: str) -> dict[str, Any]:
    """The checked values of ``table`` for the dataclass ``cls`` (only the keys given)."""
    if not isinstance(table, dict):
        raise CatalogError(f"{FILE}, {where}: expected a table, got {_shown(table)}")
    hints = _hints(cls)
    known = {item.name for item in fields(cls) if item.init}
    converted: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise CatalogError(f"{FILE}, {where}.{key}: unknown key")
        converted[key] = _convert(value, hints[key], f"{where}.{key}")
    return converted


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The field types of the dataclass ``cls`` (evaluated once: they are strings)."""
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = get_type_hints(cls)
    return found


def _convert(value: Any, hint: Any, where: str) -> Any:
    """``value`` (as TOML read it) as the Python value of type ``hint``: arrays become
    tuples, ``false`` None where None is allowed; ``CatalogError`` if it is not one."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is False and type(None) in args:
            return None
        for option in args:
            if option is not type(None) and _fits(value, option):
                return _convert(value, option, where)
    elif origin is Literal:
        if isinstance(value, str) and value in args:
            return value
        allowed = ", ".join(repr(arg) for arg in args)
        raise CatalogError(f"{FILE}, {where}: {_shown(value)} is not one of {allowed}")
    elif origin is tuple and isinstance(value, list):
        item = args[0]
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    elif origin is Mapping and isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, str):
                raise CatalogError(f"{FILE}, {where}.{key}: expected a string, got {_shown(item)}")
        return {key: item.replace(_VERSION_NAME, __version__) for key, item in value.items()}
    elif is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value, where)
    elif hint in (str, bool) and type(value) is hint:
        return value
    raise CatalogError(f"{FILE}, {where}: expected {_expected(hint)}, got {_shown(value)}")


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the TOML shape of ``hint`` (its items are checked later)."""
    origin = get_origin(hint)
    if origin is tuple:
        return isinstance(value, list)
    if origin is Mapping or is_dataclass(hint):
        return isinstance(value, dict)
    if origin is Literal:
        return isinstance(value, str)
    return type(value) is hint


def _expected(hint: Any) -> str:
    """``hint`` in words, as a TOML value."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        words = [_expected(arg) for arg in args if arg is not type(None)]
        if type(None) in args:
            words.append("false (none)")
        return " or ".join(words)
    if origin is tuple:
        return f"an array of {_expected(args[0]).removeprefix('a ')}s"
    if origin is Mapping or is_dataclass(hint):
        return "a table"
    return {str: "a string", bool: "true or false"}.get(hint, str(hint))


def _shown(value: Any) -> str:
    """``value`` in a message: its TOML kind and, when short, itself."""
    kind = {
        bool: "a boolean",
        str: "a string",
        int: "an integer",
        float: "a float",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text}" if len(text) <= 40 else kind
