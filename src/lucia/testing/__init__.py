"""Helpers for testing apps that use lucia: local stand-ins of OAuth / OpenID
providers that run on loopback, so tests (and the demo) never call real GitHub
or Google. Development and tests only: never enable them in production.
"""
