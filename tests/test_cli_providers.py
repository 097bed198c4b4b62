"""``lucia providers``: the provider catalog as a table, and as JSON (issue 16 item 3)."""

from __future__ import annotations

import json

import pytest

from lucia.cli import main
from lucia.oauth.providers.registry import providers

REQUIRED_KEYS = {
    "slug",
    "name",
    "protocol",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "parameters",
    "pkce",
    "refresh",
    "revoke",
    "email",
}


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["providers", "--json"]) == 0
    entries: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return entries


def test_json_is_an_array_with_one_object_per_provider(
    capsys: pytest.CaptureFixture[str],
) -> None:
    entries = listed(capsys)
    assert isinstance(entries, list)
    assert [entry["slug"] for entry in entries] == sorted(providers())
    for entry in entries:
        assert set(entry) >= REQUIRED_KEYS, entry["slug"]
        assert entry["protocol"] in ("oidc", "oauth2")
        assert entry["pkce"] in ("S256", "none")
        assert isinstance(entry["refresh"], bool)
        assert isinstance(entry["revoke"], bool)
        assert isinstance(entry["parameters"], list)
        email = entry["email"]
        assert isinstance(email, dict)
        assert set(email) == {"available", "verified"}
        assert email["verified"] in ("flag", "always", "never")


def test_discord_entry(capsys: pytest.CaptureFixture[str]) -> None:
    discord = next(entry for entry in listed(capsys) if entry["slug"] == "discord")
    assert discord["name"] == "Discord"
    assert discord["protocol"] == "oauth2"
    assert discord["authorization_endpoint"] == "https://discord.com/oauth2/authorize"
    assert discord["token_endpoint"] == "https://discord.com/api/oauth2/token"
    assert discord["userinfo_endpoint"] == "https://discord.com/api/users/@me"
    assert discord["parameters"] == []
    assert discord["pkce"] == "S256"
    assert discord["refresh"] is True
    assert discord["revoke"] is True
    assert discord["email"] == {"available": True, "verified": "flag"}


def test_github_and_google_entries(capsys: pytest.CaptureFixture[str]) -> None:
    entries = {entry["slug"]: entry for entry in listed(capsys)}
    github, google = entries["github"], entries["google"]
    assert github["protocol"] == "oauth2"
    assert github["authorization_endpoint"] == "https://github.com/login/oauth/authorize"
    assert github["token_endpoint"] == "https://github.com/login/oauth/access_token"
    assert github["userinfo_endpoint"] == "https://api.github.com/user"
    # GitHub Enterprise Server's URL is optional: github.com without it.
    assert github["parameters"] == []
    assert github["optional_parameters"] == ["enterprise_url"]
    assert (github["pkce"], github["revoke"]) == ("S256", True)
    assert github["email"] == {"available": True, "verified": "flag"}
    assert google["protocol"] == "oidc"
    assert google["issuer"] == "https://accounts.google.com"
    assert google["authorization_endpoint"] == "https://accounts.google.com/o/oauth2/v2/auth"
    assert google["token_endpoint"] == "https://oauth2.googleapis.com/token"
    assert google["userinfo_endpoint"] == "https://openidconnect.googleapis.com/v1/userinfo"
    assert google["parameters"] == []
    assert (google["pkce"], google["refresh"], google["revoke"]) == ("S256", True, True)
    assert google["email"] == {"available": True, "verified": "flag"}


def test_the_any_issuer_openid_provider_needs_its_issuer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    openid = next(entry for entry in listed(capsys) if entry["slug"] == "openid")
    assert openid["protocol"] == "oidc"
    assert openid["parameters"] == ["issuer"]
    assert openid["discovery"] is True
    # Found by discovery: no endpoint is known before it.
    assert openid["authorization_endpoint"] is None
    assert openid["userinfo_endpoint"] is None


def test_table_has_a_header_and_a_row_per_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["SLUG", "NAME", "PROTOCOL"]
    slugs = [line.split()[0] for line in lines[1:]]
    assert slugs == sorted(providers())
    discord = next(line for line in lines if line.startswith("discord "))
    assert "S256" in discord
    assert "verified: flag" in discord


def test_help_names_the_json_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["providers", "--help"])
    assert exited.value.code == 0
    assert "--json" in capsys.readouterr().out
