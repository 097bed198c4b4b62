"""The ``lucia`` command line.

    lucia migrate DATABASE_URL                 create lucia's tables (idempotent)
    lucia migrate --print --dialect postgres   print the DDL, for your own migrations
    lucia sessions purge DATABASE_URL          delete expired sessions and one-time tokens
    lucia providers [--json]                   the OAuth providers lucia knows, by slug

Exit status: 0 on success, 1 when the database fails (or ``migrate`` finds another
app's table under one of lucia's names: it then creates nothing), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from lucia.adapters._purge import PURGE_BATCH_SIZE, PurgeProgress, check_batch_size
from lucia.adapters.sql import DEFAULT_TABLES, Tables, ddl
from lucia.adapters.sql.schema import TableConflictError
from lucia.adapters.urls import DIALECTS, open_adapter, redact_url
from lucia.errors import LuciaError
from lucia.sessions import utc_now

__all__ = ["main"]

DEMO_DATABASE = "lucia-demo.sqlite3"


def _tables(value: str | None) -> Tables:
    if not value:
        return DEFAULT_TABLES
    names = value.split(",")
    if len(names) not in (3, 4):
        raise argparse.ArgumentTypeError(
            "--tables takes three or four names: user,key,session[,token]"
        )
    try:
        return Tables(*names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_tables(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tables",
        type=_tables,
        default=None,
        metavar="USER,KEY,SESSION[,TOKEN]",
        help="table names",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lucia", description="lucia: authentication for Python web apps."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = commands.add_parser(
        "migrate",
        help="create lucia's tables, or print their DDL",
        description="Create lucia's tables on a database (idempotent), or print the DDL"
        " for a dialect so you can put it in your own migrations. An existing table"
        " under one of lucia's names that lacks lucia's columns (Django's auth_user,"
        " say) is refused, and nothing is created: pick other names with --tables.",
    )
    migrate.add_argument("url", nargs="?", metavar="DATABASE_URL", help="sqlite:///app.db, ...")
    migrate.add_argument("--print", action="store_true", dest="print_only", help="print the DDL")
    migrate.add_argument("--dialect", choices=DIALECTS, help="the dialect for --print")
    _add_tables(migrate)

    sessions = commands.add_parser("sessions", help="manage sessions")
    session_commands = sessions.add_subparsers(dest="action", required=True, metavar="ACTION")
    purge = session_commands.add_parser(
        "purge",
        help="delete expired sessions and one-time tokens",
        description="Delete expired sessions and expired one-time tokens, in batches"
        " (each its own short transaction, so sign-ins are not held up); the count of each"
        " batch goes to stderr, the totals to stdout.",
    )
    purge.add_argument("url", metavar="DATABASE_URL")
    _add_tables(purge)
    purge.add_argument(
        "--batch-size",
        type=_batch_size,
        default=PURGE_BATCH_SIZE,
        metavar="N",
        help=f"rows deleted per batch (default {PURGE_BATCH_SIZE})",
    )

    providers = commands.add_parser(
        "providers",
        help="list the OAuth providers lucia knows",
        description="List every OAuth 2.0 / OpenID Connect provider lucia knows, by slug"
        " (the name lucia.oauth.provider(slug, ...) takes): its endpoints, the parameters"
        " it needs, PKCE, refresh, revocation and what it says of the email.",
    )
    providers.add_argument(
        "--json", action="store_true", help="print a JSON array, one object per provider"
    )

    demo = commands.add_parser(
        "demo",
        help="run the demo web app on SQLite",
        add_help=False,  # _DemoHelp: the providers' variables, read from the registry
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the demo app (sign-up, sign-in, OAuth, linking, sessions) on\n"
        "http://HOST:PORT, storing everything in a SQLite file. In development mode (the\n"
        "default) a local OpenID provider runs beside it on its own loopback port, so the\n"
        "OAuth flow works with no account anywhere. Every provider configured in the\n"
        "environment (below) gets its sign-in button.",
    )
    demo.add_argument("-h", "--help", action=_DemoHelp, help="show this help message and exit")
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    demo.add_argument("--port", type=_port, default=8000, help="port to listen on (8000)")
    demo.add_argument(
        "--database",
        type=_demo_database,
        default=DEMO_DATABASE,
        metavar="PATH",
        help=f"SQLite file, a path or sqlite:///path ({DEMO_DATABASE})",
    )
    demo.add_argument(
        "--dev-provider",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the local development sign-in provider (development only; default on)",
    )
    return parser


class _DemoHelp(argparse.Action):
    """``lucia demo --help``: the options, then the environment variables of every
    registered provider. The registry is loaded only when this help is asked for, so
    the other commands (and ``lucia --help``) start without importing the providers."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        try:
            from lucia.demo.providers import environment_help
        except ImportError as exc:
            parser.epilog = _demo_extra_missing(exc)
        else:
            parser.epilog = environment_help()
        parser.print_help()
        parser.exit()


def _demo_extra_missing(exc: ImportError) -> str:
    return f"lucia: the demo needs its extra: pip install 'lucia-auth[demo]' ({exc.name})"


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is 1 to 65535")
    return port


def _demo_database(value: str) -> str:
    """The SQLite file of ``--database``: a path, or a sqlite:/// URL."""
    if "://" not in value:
        if not value or value == ":memory:":
            raise argparse.ArgumentTypeError("the demo needs a SQLite file path")
        return value
    from lucia.adapters.urls import dialect_of

    try:
        dialect = dialect_of(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if dialect != "sqlite":
        raise argparse.ArgumentTypeError(
            "the demo stores its data in SQLite: give a file path or sqlite:///path"
        )
    path = unquote(urlsplit(value).path)
    if not path.startswith("/") or path in ("/", "/:memory:"):
        raise argparse.ArgumentTypeError(
            "a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path"
        )
    return path[1:]


def _demo(args: argparse.Namespace) -> int:
    database: str = args.database
    try:
        from lucia.demo.app import run
    except ImportError as exc:
        print(_demo_extra_missing(exc), file=sys.stderr)
        return 2
    from lucia.adapters.sqlite import SQLiteAdapter

    # Opened once here so that a bad path fails now, with a message, not in the server.
    try:
        adapter = SQLiteAdapter(database)
        try:
            adapter.create_tables()
        finally:
            adapter.close()
    except LuciaError as exc:
        print(f"lucia: cannot use the database {database!r}: {exc.message}", file=sys.stderr)
        return 1
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the demo stops
        run(database=database, host=args.host, port=args.port, dev=args.dev_provider)
    return 0


def _providers(*, json_output: bool) -> int:
    """Print the provider catalog: a table, or a JSON array (``describe``'s entries)."""
    try:
        from lucia.oauth.providers.registry import catalog
    except ImportError as exc:
        print(
            f"lucia: the providers need the OAuth extra: pip install 'lucia-auth[oauth]'"
            f" ({exc.name})",
            file=sys.stderr,
        )
        return 2
    entries = catalog()
    if json_output:
        print(json.dumps(entries, indent=2))
        return 0
    rows = [("SLUG", "NAME", "PROTOCOL", "PARAMETERS", "PKCE", "REFRESH", "REVOKE", "EMAIL")]
    for entry in entries:
        email = entry["email"]
        rows.append(
            (
                entry["slug"],
                entry["name"],
                entry["protocol"],
                ",".join(entry["parameters"]) or "-",
                entry["pkce"],
                "yes" if entry["refresh"] else "no",
                "yes" if entry["revoke"] else "no",
                f"verified: {email['verified']}" if email["available"] else "none",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _migrate(adapter: Any, url: str) -> int:
    """Create the tables; another app's table under lucia's names is refused (exit 1)."""
    try:
        adapter.create_tables()
    except TableConflictError as exc:
        print(
            f"lucia: {exc.message} with --tables USER,KEY,SESSION[,TOKEN]"
            " (for example --tables lucia_user,lucia_key,lucia_session)",
            file=sys.stderr,
        )
        if "is_superuser" in exc.found:
            print(
                "lucia: this looks like Django's database: add 'lucia.integrations.django'"
                " to INSTALLED_APPS and run `python manage.py migrate` instead (its tables"
                " are lucia_*)",
                file=sys.stderr,
            )
        return 1
    print(f"lucia: tables ready on {redact_url(url)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    if args.command == "providers":
        return _providers(json_output=args.json)
    tables: Tables = args.tables or DEFAULT_TABLES
    if args.command == "migrate" and args.print_only:
        dialect = args.dialect
        if dialect is None and args.url:
            from lucia.adapters.urls import dialect_of

            try:
                dialect = dialect_of(args.url)
            except ValueError as exc:
                parser.error(str(exc))
        if dialect is None:
            parser.error("--print needs --dialect or a DATABASE_URL")
        for statement in ddl(dialect, tables):
            print(f"{statement};\n")
        return 0
    if not args.url:
        parser.error("a DATABASE_URL is required")
    try:
        adapter = open_adapter(args.url, tables=tables)
    except ValueError as exc:
        parser.error(str(exc))
    except ImportError as exc:
        print(f"lucia: the driver for this URL is not installed ({exc.name})", file=sys.stderr)
        return 2
    except LuciaError as exc:
        print(f"lucia: {exc.message}", file=sys.stderr)
        return 1
    try:
        if args.command == "migrate":
            return _migrate(adapter, args.url)
        else:
            now = utc_now()
            count = adapter.delete_expired_sessions(
                now, args.batch_size, _progress("expired sessions")
            )
            print(f"lucia: deleted {count} expired session{'s' if count != 1 else ''}")
            # A line of its own, so scripts reading the sessions line still work.
            count = adapter.delete_expired_tokens(
                now, args.batch_size, _progress("expired one-time tokens")
            )
            print(f"lucia: deleted {count} expired one-time token{'s' if count != 1 else ''}")
    except LuciaError as exc:
        print(f"lucia: {exc.message}", file=sys.stderr)
        return 1
    finally:
        adapter.close()
    return 0


def _batch_size(text: str) -> int:
    try:
        return check_batch_size(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError("a positive whole number") from None


def _progress(what: str) -> PurgeProgress:
    """A purge's progress: each batch's count and the running total, on stderr."""
    done = 0

    def report(count: int) -> None:
        nonlocal done
        done += count
        print(f"lucia: {what}: deleted {count} (total {done})", file=sys.stderr, flush=True)

    return report


if __name__ == "__main__":
    raise SystemExit(main())
