"""Helpers shared by every test tier (local AWS endpoints, clients)."""
