"""Helpers for testing DAGs against the local emulator."""
