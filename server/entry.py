"""The `wardpulse` entry point: the only place that chooses the async mode and imports eventlet.

eventlet must monkey-patch the standard library before anything else imports it, so the mode
is read from the raw command line first, and only then is the rest of WardPulse imported.
"""

from __future__ import annotations

import sys

ASYNC_MODES = ("eventlet", "threading")


def requested_async_mode(argv: list[str]) -> str | None:
    """The async mode `wardpulse serve` will run in, or None for commands that serve nothing."""
    if "serve" not in argv:
        return None
    for i, arg in enumerate(argv):
        if arg == "--async-mode" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--async-mode="):
            return arg.split("=", 1)[1]
    return "eventlet"


def main() -> None:
    if requested_async_mode(sys.argv[1:]) == "eventlet":
        import warnings

        # eventlet warns on import that it is in maintenance mode; known and chosen (README, "Async mode").
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
    from server.cli import cli

    cli()


if __name__ == "__main__":
    main()
