"""Stores for lucia: one module per database, each importable without the others' drivers."""
