"""QR codes as inline SVG: crisp at any size, on screen and on paper."""

from __future__ import annotations

import re

import qrcode
import qrcode.image.svg
from markupsafe import Markup, escape


def qr_svg(data: str, label: str) -> Markup:
    """An <svg> QR code for `data`, white background, sized by CSS, with an accessible label."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage, border=4)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r'^<\?xml[^>]*>\s*', "", svg)
    # Drop the fixed millimetre size so the page decides how big it is.
    svg = re.sub(r'<svg width="[^"]*" height="[^"]*"', f'<svg class="qr" role="img" aria-label="{escape(label)}"', svg, count=1)
    return Markup(svg)
