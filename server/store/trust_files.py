"""Files a trust writes by hand into the data dir (its comment themes), read here and nowhere else."""

from __future__ import annotations

import json
from pathlib import Path

from server.store.files import THEMES_FILE


class TrustFileError(ValueError):
    """A hand-written file that cannot be read; the message says which and why, in plain English."""


def read_themes(data_dir: Path) -> object | None:
    """The trust's theme list as written in `themes.json` (None if the trust keeps none); checked by the caller."""
    path = Path(data_dir) / THEMES_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise TrustFileError(f"{path} cannot be read as JSON ({problem}): the default themes are used") from None
