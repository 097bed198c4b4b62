"""The ``lucia`` command line.

    lucia migrate DATABASE_URL                 create lucia's tables (idempotent)
    lucia migrate --print --dialect postgres   print the DDL, for your own migrations
    lucia sessions purge DATABASE_URL          delete expired sessions, print how many

Exit status: 0 on success, 1 when the database fails, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lucia.adapters.sql import DEFAULT_TABLES, Tables, ddl
from lucia.adapters.urls import DIALECTS, open_adapter, redact_url
from lucia.errors import LuciaError
from lucia.sessions import utc_now

__all__ = ["main"]


def _tables(value: str | None) -> Tables:
    if not value:
        return DEFAULT_TABLES
    names = value.split(",")
    if len(names) != 3:
        raise argparse.ArgumentTypeError("--tables takes three names: user,key,session")
    try:
        return Tables(*names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lucia", description="lucia: authentication for Python web apps."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = commands.add_parser(
        "migrate",
        help="create lucia's tables, or print their DDL",
        description="Create lucia's tables on a database (idempotent), or print the DDL"
        " for a dialect so you can put it in your own migrations.",
    )
    migrate.add_argument("url", nargs="?", metavar="DATABASE_URL", help="sqlite:///app.db, ...")
    migrate.add_argument("--print", action="store_true", dest="print_only", help="print the DDL")
    migrate.add_argument("--dialect", choices=DIALECTS, help="the dialect for --print")
    migrate.add_argument(
        "--tables", type=_tables, default=None, metavar="USER,KEY,SESSION", help="table names"
    )

    sessions = commands.add_parser("sessions", help="manage sessions")
    session_commands = sessions.add_subparsers(dest="action", required=True, metavar="ACTION")
    purge = session_commands.add_parser(
        "purge", help="delete expired sessions", description="Delete expired sessions."
    )
    purge.add_argument("url", metavar="DATABASE_URL")
    purge.add_argument(
        "--tables", type=_tables, default=None, metavar="USER,KEY,SESSION", help="table names"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
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
            adapter.create_tables()
            print(f"lucia: tables ready on {redact_url(args.url)}")
        else:
            count = adapter.delete_expired_sessions(utc_now())
            print(f"lucia: deleted {count} expired session{'s' if count != 1 else ''}")
    except LuciaError as exc:
        print(f"lucia: {exc.message}", file=sys.stderr)
        return 1
    finally:
        adapter.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
