"""Draw the QA Desktop application icon: ``build/icon.png`` and ``build/icon.ico``.

An original, dependency-light design made with Pillow only: a rounded indigo square, the
letters "QA" and a green check mark. Drawn at 4x and downsampled for smooth edges.

Run from anywhere (the outputs are committed; re-run only to change the design)::

    .venv/bin/python build/make_icon.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
PNG_PATH = HERE / "icon.png"
ICO_PATH = HERE / "icon.ico"

SIZE = 256
"""Side of the PNG, in pixels (also the largest ICO frame)."""
SCALE = 4
"""Supersampling factor: draw at SIZE * SCALE, then downsample."""
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]

BACKGROUND_TOP = (67, 56, 202)  # indigo
BACKGROUND_BOTTOM = (49, 46, 129)  # darker indigo
TEXT = (255, 255, 255)
CHECK = (52, 211, 153)  # emerald
CHECK_SHADOW = (30, 27, 75)

BOLD_FONTS = (
    "DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "Arial Bold.ttf",
    "arialbd.ttf",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A bold sans font if one is installed, else Pillow's built-in scalable font."""
    for name in BOLD_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _vertical_gradient(size: int) -> Image.Image:
    top, bottom = BACKGROUND_TOP, BACKGROUND_BOTTOM
    column = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / (size - 1)
        column.putpixel(
            (0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    return column.resize((size, size))


def draw_icon() -> Image.Image:
    """The icon as an RGBA image of SIZE x SIZE."""
    big = SIZE * SCALE
    margin = round(big * 0.04)
    radius = round(big * 0.22)

    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        (margin, margin, big - margin, big - margin), radius=radius, fill=255
    )
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    image.paste(_vertical_gradient(big), (0, 0), mask)
    draw = ImageDraw.Draw(image)

    # "QA", upper part, centred.
    font = _font(round(big * 0.40))
    left, top, right, bottom = draw.textbbox((0, 0), "QA", font=font)
    x = (big - (right - left)) / 2 - left
    y = big * 0.30 - (bottom - top) / 2 - top
    draw.text((x, y), "QA", font=font, fill=TEXT)

    # Check mark, lower part: a thick polyline with round joints, over a soft shadow.
    points = [(0.30, 0.70), (0.44, 0.83), (0.72, 0.55)]
    width = round(big * 0.085)
    for colour, offset in ((CHECK_SHADOW, round(big * 0.012)), (CHECK, 0)):
        xy = [(px * big + offset, py * big + offset) for px, py in points]
        draw.line(xy, fill=colour, width=width, joint="curve")
        r = width / 2
        for cx, cy in (xy[0], xy[-1]):
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)

    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> None:
    icon = draw_icon()
    icon.save(PNG_PATH, optimize=True)
    icon.save(ICO_PATH, sizes=ICO_SIZES)
    print(f"wrote {PNG_PATH} and {ICO_PATH}")


if __name__ == "__main__":
    main()
