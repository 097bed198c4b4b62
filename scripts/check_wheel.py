"""Install the built wheel into a clean virtual environment and use lucia with no extras.

    python scripts/check_wheel.py dist/

Proves what ``pip install lucia-auth`` gives a user: the wheel installs with its
one dependency, ``import lucia`` works without any extra, the data files ship
(the SQL schema, the common-password list, ``py.typed``, the OAuth providers'
``catalog.toml``), and the version is
the one in ``src/lucia/__about__.py``. Runs from a temporary directory so that
the checkout's ``src/`` can never be imported by mistake. Exits non-zero on any
failure.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs inside the clean environment: the core, end to end, on SQLite.
SMOKE = r"""
import importlib.util, pathlib, sys
import lucia
from lucia import InvalidPasswordError, Lucia
from lucia.adapters.sqlite import SQLiteAdapter

where = pathlib.Path(lucia.__file__).resolve()
assert "site-packages" in where.parts, f"lucia imported from {where}, not the installed wheel"
assert (where.parent / "py.typed").is_file(), "py.typed is missing"
# The OAuth providers' specs (read by lucia.oauth, an extra: here only found and parsed).
import tomllib
catalog = where.parent / "oauth" / "providers" / "catalog.toml"
assert "discord" in tomllib.loads(catalog.read_text(encoding="utf-8")), "catalog.toml is missing"
for extra_only in ("httpx", "starlette", "flask", "django", "psycopg", "redis", "sqlalchemy"):
    assert importlib.util.find_spec(extra_only) is None, f"{extra_only} came without an extra"

adapter = SQLiteAdapter(":memory:")
adapter.create_tables()                        # the packaged SQL schema
auth = Lucia(adapter)
try:
    auth.create_user("email", "a@example.com", password="password123")
except InvalidPasswordError:                   # the packaged common-password list
    pass
else:
    raise AssertionError("a common password was accepted")
user = auth.create_user("email", "a@example.com", password="correct horse battery staple")
assert auth.authenticate("email", "a@example.com", "correct horse battery staple").id == user.id
session = auth.create_session(user.id)
found = auth.validate_session(session.token)
assert found is not None and found[1].id == user.id
print(lucia.__version__)
"""


def main(dist: Path) -> int:
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        print(f"check_wheel: expected one wheel in {dist}, found {len(wheels)}", file=sys.stderr)
        return 1
    about = (ROOT / "src" / "lucia" / "__about__.py").read_text(encoding="utf-8")
    match = re.search(r'__version__ = "([^"]+)"', about)
    assert match is not None, "no __version__ in __about__.py"
    version = match.group(1)
    with tempfile.TemporaryDirectory(prefix="lucia-wheel-") as tmp:
        env_dir = Path(tmp) / "venv"
        # No pip inside (ensurepip is slow): this interpreter's pip installs into it.
        venv.EnvBuilder(with_pip=False).create(env_dir)
        python = env_dir / "bin" / "python"
        pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--quiet", wheels[0]], check=True)  # noqa: S603
        smoke = [python, "-c", SMOKE]
        result = subprocess.run(smoke, cwd=tmp, check=True, capture_output=True, text=True)  # noqa: S603
    installed = result.stdout.strip()
    if installed != version:
        print(f"check_wheel: installed {installed!r}, __about__ says {version!r}", file=sys.stderr)
        return 1
    print(f"check_wheel: {wheels[0].name} installs cleanly; core works without extras")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "dist")))
