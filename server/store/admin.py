"""Admin commands, run by the CLI directly on the data dir or, while a server runs, through it."""

from __future__ import annotations

from server.store.registry import AdminError, Registry

COMMANDS = ("add_ward", "set_ward", "set_trust", "add_kiosk", "revoke_kiosk", "set_kiosk_wording", "add_display", "add_staff", "set_password", "end_sessions")


def run_command(registry: Registry, command: str, args: dict) -> dict:
    """Apply one admin command to the registry and return what it made or changed."""
    if command not in COMMANDS:
        raise AdminError(f"unknown admin command {command!r}")
    return getattr(registry, command)(**args)
