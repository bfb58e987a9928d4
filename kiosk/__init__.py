"""Everything that runs on the ward tablet: the touch page and a Python kiosk client."""

from pathlib import Path

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
