"""Where the accounts, tokens, throttle and password-route code lives (issue 15 items 1 and 3).

Each operation is written once, as async source under ``_async/``, and the sync
one is generated (``make unasync-check`` keeps them equal); the public modules
only combine and re-export. These tests pin what a reader relies on: the public
names come from the one source, and no module reaches into another's privates.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import lucia
from lucia import accounts, addresses, throttle, tokens
from lucia.integrations import _passwords

SRC = Path(lucia.__file__).parent

# The modules of accounts, tokens, the throttle and the password routes, by file.
OWN = [
    "accounts.py",
    "tokens.py",
    "throttle.py",
    "addresses.py",
    "_accounts_base.py",
    "_throttle_base.py",
    "_async/accounts.py",
    "_async/tokens.py",
    "_async/throttle.py",
    "_sync/accounts.py",
    "_sync/tokens.py",
    "_sync/throttle.py",
    "integrations/_passwords.py",
    "integrations/_passwords_base.py",
    "integrations/_async/routes.py",
    "integrations/_sync/routes.py",
]


# Left, to be made public by the module that owns them: the Redis session store's
# client description and secret scrubbing, which RedisThrottleStore shares.
ALLOWED = {"lucia.adapters.redis._client_secrets", "lucia.adapters.redis._describe"}


def _module_name(path: str) -> str:
    return "lucia." + path.removesuffix(".py").replace("/", ".")


@pytest.mark.parametrize("path", OWN)
def test_no_private_name_imported_from_another_module(path: str) -> None:
    # tokens used to import accounts' private _run_sync / _new_session: a change
    # to accounts' internals then broke tokens silently.
    tree = ast.parse((SRC / path).read_text())
    own = _module_name(path)
    crossed = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lucia")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__") and node.module != own
    ]
    # Importing a private *module* (lucia._async.accounts) is how the flavours are
    # combined; importing a private *name* from another module is not.
    assert [name for name in crossed if not _is_module(name) and name not in ALLOWED] == []


def _is_module(dotted: str) -> bool:
    return (SRC / Path(*dotted.split(".")[1:])).with_suffix(".py").exists() or (
        SRC / Path(*dotted.split(".")[1:])
    ).is_dir()


def test_client_address_lives_in_lucia_addresses() -> None:
    assert throttle.client_address is addresses.client_address
    assert addresses.client_address("::ffff:203.0.113.7", None) == "203.0.113.7"
    assert addresses.parse_ip("fe80::1%eth0") == addresses.parse_ip("fe80::1")
    assert addresses.parse_ip("not an address") is None


def test_throttle_imports_no_address_parsing_of_its_own() -> None:
    source = (SRC / "throttle.py").read_text() + (SRC / "_throttle_base.py").read_text()
    assert "X-Forwarded-For" not in source.replace("``X-Forwarded-For``", "")
    assert "def client_address" not in source
    assert "def parse_ip" not in source


@pytest.mark.parametrize(
    ("module", "sync_name"),
    [
        (accounts, "sign_up"),
        (accounts, "sign_in"),
        (accounts, "change_password"),
        (accounts, "change_email"),
        (accounts, "reauthenticate"),
        (tokens, "create_email_verification_token"),
        (tokens, "verify_email"),
        (tokens, "create_password_reset_token"),
        (tokens, "reset_password"),
        (tokens, "request_sign_up"),
        (tokens, "complete_sign_up"),
        (_passwords, "run"),
    ],
)
def test_each_sync_function_is_generated_from_its_async_twin(
    module: object, sync_name: str
) -> None:
    sync = getattr(module, sync_name)
    asynchronous = getattr(module, "a" + sync_name)
    assert inspect.iscoroutinefunction(asynchronous)
    assert not inspect.iscoroutinefunction(sync)
    assert asynchronous.__module__.split(".")[-2] == "_async"
    assert sync.__module__ == asynchronous.__module__.replace("._async.", "._sync.")
    # The same signature, one flavour each: the generator renames nothing else.
    assert str(inspect.signature(sync)).replace("AsyncLucia", "Lucia") == str(
        inspect.signature(asynchronous)
    ).replace("AsyncLucia", "Lucia")
    assert sync.__doc__ == asynchronous.__doc__.replace("``a" + sync_name, "``" + sync_name)


@pytest.mark.parametrize(
    ("cls", "names"),
    [
        (
            throttle.SignInThrottle,
            ["reserve", "release", "fail", "attempt", "count_sign_up", "check", "record_failure"],
        ),
        (throttle.MemoryThrottleStore, ["hit", "peek", "unhit"]),
        (throttle.RedisThrottleStore, ["hit", "peek", "unhit"]),
    ],
)
def test_throttle_classes_combine_a_generated_mixin_with_its_source(
    cls: type, names: list[str]
) -> None:
    for name in names:
        sync, asynchronous = getattr(cls, name), getattr(cls, "a" + name)
        assert sync.__module__ == "lucia._sync.throttle", name
        assert asynchronous.__module__ == "lucia._async.throttle", name


def test_password_routes_load_nothing_of_the_oauth_extra() -> None:
    # A password-only app (no SignInFlow) must not need httpx or joserfc installed.
    code = (
        "import sys, lucia.integrations._passwords, lucia.accounts, lucia.tokens, lucia.throttle\n"
        "print(sorted(m for m in ('httpx', 'joserfc', 'lucia.oauth') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


def test_password_config_without_a_flow_keeps_the_sites_default_redirect() -> None:
    # Django builds no SignInFlow for a password-only site, yet its DEFAULT_REDIRECT
    # still decides where a form lands without a safe ``next``.
    from lucia import Lucia
    from lucia.adapters.memory import MemoryAdapter

    auth = Lucia(MemoryAdapter())
    assert _passwords.PasswordConfig.build(auth, None).default_redirect == "/"
    config = _passwords.PasswordConfig.build(auth, None, default_redirect="/home")
    assert config.default_redirect == "/home"
    assert config.flow is None
