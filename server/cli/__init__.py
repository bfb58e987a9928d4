"""The `wardpulse` command line.

Admin commands work whether or not a server is running. The running server holds an exclusive
lock on the data dir; when a command finds it taken, it sends the command to the server's
control endpoint (address in `server.json`, bearer token in `control.token`, both in the data
dir and readable only by the service user), so the change takes effect at once and the server
stays the only writer.

Each area's commands live in a leaf module (serve, admin, export, ops, tools) that lists them in
COMMANDS; this root only gathers them onto the group, and no leaf imports it.
"""

from __future__ import annotations

from pathlib import Path

import click

from server.cli import admin, export, ops, returns, serve, tools


@click.group()
@click.option(
    "--data-dir",
    envvar="WARDPULSE_DATA_DIR",
    default="./var",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where ratings, the ward registry and secrets are kept.",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path) -> None:
    """WardPulse: real-time Friends and Family Test feedback for hospital wards."""
    ctx.obj = data_dir


for leaf in (serve, admin, export, returns, ops, tools):
    for command in leaf.COMMANDS:
        cli.add_command(command)
