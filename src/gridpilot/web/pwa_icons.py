"""Draw the dashboard's app icons (PNG) into ``web/static/pwa/``: a white lightning bolt on
NiceGUI's primary blue (the header's). The PNGs are committed; run
``python -m gridpilot.web.pwa_icons`` (needs Pillow, a development tool only) after changing
the drawing.

``icon-<n>.png`` keeps the bolt within the middle 80 % (a plain icon with rounded corners);
``maskable-512.png`` fills the square and keeps the bolt in the inner 60 % safe zone, so any
launcher mask (circle, squircle) crops background only.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent / "static" / "pwa"
BLUE = (88, 152, 212, 255)  # #5898d4, NiceGUI's primary: the header's colour
WHITE = (255, 255, 255, 255)
#: The bolt as (x, y) in a 100 x 100 box.
BOLT = [(58, 6), (22, 56), (46, 56), (38, 94), (78, 40), (54, 40), (62, 6)]


def draw(size: int, *, maskable: bool) -> object:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, size, size), fill=BLUE)
        scale, offset = size * 0.6 / 100, size * 0.2
    else:
        pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=BLUE)
        scale, offset = size * 0.8 / 100, size * 0.1
    pen.polygon([(offset + x * scale, offset + y * scale) for x, y in BOLT], fill=WHITE)
    return image


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(HERE / f"icon-{size}.png", optimize=True)  # type: ignore[attr-defined]
    draw(512, maskable=True).save(HERE / "maskable-512.png", optimize=True)  # type: ignore[attr-defined]
    draw(180, maskable=True).save(HERE / "apple-touch-icon.png", optimize=True)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
