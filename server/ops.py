"""Operations commands of the `wardpulse` CLI: soak, backup, restore."""

from __future__ import annotations

from server.cli import cli  # noqa: F401  (commands below register on the group)
