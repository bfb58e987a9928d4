"""Operations commands of the `wardpulse` CLI: backup and restore."""

from __future__ import annotations

from pathlib import Path

import click

from server.cli.common import emit_result
from server.store.backup import BackupError, verify_backup
from server.store.backup import backup as make_backup
from server.store.backup import restore as put_back


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def backup(data_dir: Path, dest: Path, as_json: bool) -> None:
    """Copy the data dir to DEST (new or empty), consistently, even while the server is serving."""
    try:
        contents = make_backup(data_dir, dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    emit_result(as_json, dict(contents.as_dict(), dest=str(dest)), f"Backed up {data_dir} to {dest}: {contents.summary()}.")


@click.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Restore over a data dir that holds data; what is there is moved into DATA_DIR/replaced-<time>/.")
@click.option("--check", is_flag=True, help="Only verify the backup; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def restore(data_dir: Path, src: Path, force: bool, check: bool, as_json: bool) -> None:
    """Verify the backup in SRC, then copy it into the data dir. No server may be running on the data dir."""
    try:
        contents, aside = (verify_backup(src), None) if check else put_back(src, data_dir, force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in contents.warnings:
        click.echo(f"warning: {warning}", err=True)
    done = f"{src} reads back whole" if check else f"Restored {src} into {data_dir}"
    moved = f" What was there before is in {aside}." if aside else ""
    emit_result(as_json, dict(contents.as_dict(), replaced=str(aside) if aside else None), f"{done}: {contents.summary()}.{moved}")


COMMANDS = (backup, restore)
