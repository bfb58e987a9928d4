"""The comment themes in force: the trust's `themes.json` if it keeps one and it is sound, else the defaults.

Not pure: it reads the file through the store. The matching itself is `themes` (pure).
"""

from __future__ import annotations

import logging
from pathlib import Path

from server.store.trust_files import TrustFileError, read_themes
from server.ward.themes import DEFAULT_THEMES, ThemeFinder, ThemesError, parse_themes

log = logging.getLogger(__name__)


def trust_themes(data_dir: Path) -> tuple[ThemeFinder, str | None]:
    """(the theme finder, a plain-English problem with the trust's file or None). A bad file never stops the server."""
    try:
        written = read_themes(data_dir)
        themes = DEFAULT_THEMES if written is None else parse_themes(written)
    except (TrustFileError, ThemesError) as problem:
        message = f"The trust's themes file is not used: {problem}"
        log.warning(message)
        return ThemeFinder(), message
    return ThemeFinder(themes), None
