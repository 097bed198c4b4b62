"""Generate the sync code from its async source, or check that it is up to date.

    python scripts/generate_sync.py            # regenerate every _sync/ file
    python scripts/generate_sync.py --check    # exit 1 (and name them) when any is stale

Each rule maps a folder of async source (``_async/``) to the folder of generated
sync code next to it (``_sync/``). The generated files are checked in, so users,
mypy and debuggers see ordinary code; CI runs ``--check`` (``make unasync-check``,
part of ``make lint``) so the two never drift.

How a file is turned sync: ``unasync`` (token replacement, as httpcore does)
drops ``async``/``await``, maps ``async with``/``async for``/``__aenter__``/
``AsyncIterator``/``asynccontextmanager`` to their sync twins and renames the
names in ``REPLACEMENTS``; then the same renames are applied to words in
docstrings and comments (not ``_async``, which names paths), a header is added,
and ``ruff format`` and ``ruff check --fix`` (imports only) tidy the result, so the
generated code passes ``make lint`` like the rest.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync  # type: ignore[import-untyped]  # no type information shipped

ROOT = Path(__file__).resolve().parent.parent

# (async source folder, generated sync folder), relative to the repository.
RULES: list[tuple[str, str]] = [
    ("src/lucia/_async", "src/lucia/_sync"),
    ("src/lucia/adapters/_async", "src/lucia/adapters/_sync"),
    ("src/lucia/oauth/_async", "src/lucia/oauth/_sync"),
    ("src/lucia/integrations/_async", "src/lucia/integrations/_sync"),
]

# Async name -> sync name, beyond unasync's own (__aenter__, AsyncIterator, ...).
# unasync would turn any other ``AsyncFoo`` into ``SyncFoo``: every public class
# is listed here so the sync names stay the public ones (``AsyncLucia`` -> ``Lucia``).
REPLACEMENTS: dict[str, str] = {
    "_async": "_sync",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "aclose": "close",
    "AsyncLucia": "Lucia",
    "AsyncAdapter": "Adapter",
    "AsyncUserAdapter": "UserAdapter",
    "AsyncSessionAdapter": "SessionAdapter",
    # the store contract (adapters/_async/protocols.py) and the purges written once
    "AsyncUserKeyAdapter": "UserKeyAdapter",
    "AsyncTokenAdapter": "TokenAdapter",
    "AsyncSessionStore": "SessionStore",
    "AsyncCreatesTables": "CreatesTables",
    "AsyncPurgesSessions": "PurgesSessions",
    "AsyncPurgesTokens": "PurgesTokens",
    "AsyncSessionPurges": "SessionPurges",
    "AsyncTokenPurges": "TokenPurges",
    "arun_cpu": "run_cpu",
    "Deferred": "Immediate",
    "AsyncSQLAdapter": "SQLAdapter",
    "AsyncSQLDriver": "SQLDriver",
    "apurge_in_batches": "purge_in_batches",
    "AsyncSQLAlchemyDriver": "SQLAlchemyDriver",
    "AsyncSQLAlchemyAdapter": "SQLAlchemyAdapter",
    "AsyncEngine": "Engine",
    "AsyncRedisSessionAdapter": "RedisSessionAdapter",
    "AsyncSafeRetry": "SafeRetry",
    "_AsyncRedisHooks": "_RedisHooks",
    "AsyncRedisCluster": "RedisCluster",
    "AsyncRedis": "Redis",
    "AsyncRetry": "Retry",
    "AsyncCall": "Call",
    "AsyncMemoryAdapter": "MemoryAdapter",
    "AsyncClosing": "Closing",
    "AsyncPostgresDriver": "PostgresDriver",
    "AsyncPostgresAdapter": "PostgresAdapter",
    "_AsyncPostgresAdapterHooks": "_PostgresAdapterHooks",
    "AsyncMySQLAdapter": "MySQLAdapter",
    "AiomysqlDriver": "PyMySQLDriver",
    "_AsyncMySQLAdapterHooks": "_MySQLAdapterHooks",
    "AsyncSQLiteAdapter": "SQLiteAdapter",
    "AsyncSQLiteDriver": "SQLiteDriver",
    "_AsyncSQLiteAdapterHooks": "_SQLiteAdapterHooks",
    "_AsyncDriverHooks": "_DriverHooks",
    "AsyncConnectionPool": "ConnectionPool",
    "AsyncConnection": "Connection",
    "AsyncCursor": "Cursor",
    # accounts, tokens, the throttle and the password routes (lucia/_async, integrations/_async)
    "AsyncMemoryCounters": "MemoryCounters",
    "AsyncRedisCounters": "RedisCounters",
    "AsyncThrottleSteps": "ThrottleSteps",
    "ahit": "hit",
    "apeek": "peek",
    "aunhit": "unhit",
    "areserve": "reserve",
    "arelease": "release",
    "afail": "fail",
    "aattempt": "attempt",
    "acount_sign_up": "count_sign_up",
    "acheck": "check",
    "arecord_failure": "record_failure",
    "apause": "pause",
    "_require_async": "_require_sync",
    "asign_up": "sign_up",
    "asign_in": "sign_in",
    "achange_password": "change_password",
    "achange_email": "change_email",
    "areauthenticate": "reauthenticate",
    "acreate_email_verification_token": "create_email_verification_token",
    "averify_email": "verify_email",
    "acreate_password_reset_token": "create_password_reset_token",
    "areset_password": "reset_password",
    "arequest_sign_up": "request_sign_up",
    "acomplete_sign_up": "complete_sign_up",
    "arun": "run",
    "astart": "start",
    # lucia.oauth: the HTTP layer and the sign-in flow.
    "AsyncClient": "Client",
    "asend_request": "send_request",
    "ajwks_key": "jwks_key",
    "_ahttp": "_http",
    "_asend": "_send",
    "_AsyncProviderHTTP": "_ProviderHTTP",
    "_AsyncOpenIDHTTP": "_OpenIDHTTP",
    "aprepare": "prepare",
    "avalidate_authorization_code": "validate_authorization_code",
    "arefresh_access_token": "refresh_access_token",
    "arevoke_token": "revoke_token",
    "aget_user": "get_user",
    "_averified": "_verified",
    "adiscover": "discover",
    "_AsyncSignInSteps": "_SignInSteps",
    "acallback": "callback",
    "_acallback_steps": "_callback_steps",
    "_aprepare_provider": "_prepare_provider",
    "_afind_or_create": "_find_or_create",
    "_alink": "_link",
    "_alucia": "_lucia",
}

_PROSE = re.compile(r"\b(" + "|".join(k for k in REPLACEMENTS if k != "_async") + r")\b")
_SYNC_NAME = re.compile(r"\bSync[A-Z]\w*")


def _header(source: Path) -> str:
    rel = source.relative_to(ROOT).as_posix()
    return f"# Generated from {rel} by scripts/generate_sync.py: do not edit.\n"


def _tidy(folder: Path) -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    for args in (["check", "--fix", "--select", "I", "--quiet"], ["format", "--quiet"]):
        # ruff from this venv on our own generated folder: no untrusted input.
        subprocess.run([ruff, *args, str(folder)], check=True, cwd=ROOT)  # noqa: S603


def generate(out_root: Path) -> list[Path]:
    """Write every rule's sync files under ``out_root`` (ROOT itself, or a scratch copy)."""
    written: list[Path] = []
    rules = [unasync.Rule(f"/{src}/", f"/{dst}/", REPLACEMENTS) for src, dst in RULES]
    for src, dst in RULES:
        if not (ROOT / src).is_dir():
            continue
        for source in sorted((ROOT / src).glob("*.py")):
            # unasync writes next to its input's path with fromdir -> todir: run it on
            # a copy under out_root so a --check never touches the checked-in files.
            staged = out_root / src / source.name
            staged.parent.mkdir(parents=True, exist_ok=True)
            if staged != source:
                shutil.copyfile(source, staged)
            unasync.unasync_files([str(staged)], rules)
            target = out_root / dst / source.name
            text = _PROSE.sub(lambda m: REPLACEMENTS[m.group(1)], target.read_text())
            stray = _SYNC_NAME.findall(text)
            if stray:  # an AsyncFoo missing from REPLACEMENTS
                raise SystemExit(f"{source}: add to REPLACEMENTS: {sorted(set(stray))}")
            target.write_text(_header(source) + text)
            written.append(target)
        if (out_root / dst).is_dir():
            _tidy(out_root / dst)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = parser.parse_args()
    if not args.check:
        for path in generate(ROOT):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    stale: list[str] = []
    # Inside the repository, so ruff applies the same configuration (import sections).
    with tempfile.TemporaryDirectory(prefix=".unasync-check-", dir=ROOT) as tmp:
        for fresh in generate(Path(tmp)):
            rel = fresh.relative_to(tmp)
            current = ROOT / rel
            old = current.read_text() if current.exists() else ""
            new = fresh.read_text()
            if old != new:
                stale.append(str(rel))
                sys.stdout.writelines(
                    difflib.unified_diff(
                        old.splitlines(True), new.splitlines(True), f"a/{rel}", f"b/{rel}"
                    )
                )
        # A sync file whose source is gone is stale too.
        for src, dst in RULES:
            for current in (ROOT / dst).glob("*.py"):
                if not (ROOT / src / current.name).exists():
                    stale.append(f"{dst}/{current.name} (no {src}/{current.name})")
    if stale:
        print("stale generated files (run `python scripts/generate_sync.py`):", *stale, sep="\n  ")
        return 1
    print("generated sync code is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
