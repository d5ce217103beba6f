"""Signer names people can tell apart: one comparison form, and safe display of outside text.

A name is compared by its *skeleton*: NFKC, format characters (Unicode category ``Cf``:
zero-width spaces and joiners, bidi controls) removed, case folded, Cyrillic and Greek
look-alikes mapped to the Latin letter they imitate, runs of white space made one space.
Two names with the same skeleton look the same on screen, so the trust store refuses the
second one::

    name_skeleton("Demo\u200b Reviewer") == name_skeleton("Dеmo Reviewer")  # Cyrillic е
    shown = display_text("evil\u202egnp.exe")   # the bidi override made visible, inert
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, overrides, pop
    "\u2066\u2067\u2068\u2069"  # isolates
    "\u200e\u200f\u061c"  # marks
)
"""Characters that reorder the text around them; never shown as they are."""

_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")

# Lower-case Cyrillic and Greek letters that render like a Latin one (applied after
# casefold, so the capitals are covered too). A small table, not Unicode's full one.
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "һ": "h",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ӏ": "l",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "μ": "u",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ζ": "z",
        # Latin look-alikes of other letters
        "ı": "i",
        "ł": "l",
    }
)


def name_skeleton(name: str) -> str:
    """The form two names are compared in: equal skeletons look alike on screen."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", text.casefold()).translate(_CONFUSABLES)
    # Combining marks (an accent added to a look-alike) do not make a name different.
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return " ".join(text.split())


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a signer name (control or format characters), or None."""
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Co", "Cs", "Cn") or ch in BIDI_CONTROLS:
            return (
                f"the name holds an invisible or control character (U+{ord(ch):04X});"
                " type it again without it"
            )
    if not name_skeleton(name):
        return "the name is empty"
    return None


def display_text(text: str) -> str:
    """``text`` with bidi controls replaced by U+FFFD, so it cannot reorder what is around it."""
    return _BIDI.sub("\ufffd", text)


def distinct_names(named: list[tuple[str, str]]) -> dict[str, str]:
    """``{key_id: shown name}`` for ``(key_id, name)`` pairs: the name made inert
    (:func:`display_text`), with ``[key id]`` after it where two names look alike."""
    counts: dict[str, int] = {}
    for _, name in named:
        skeleton = name_skeleton(name)
        counts[skeleton] = counts.get(skeleton, 0) + 1
    return {
        key_id: display_text(name)
        + (f" [{display_text(key_id)}]" if counts[name_skeleton(name)] > 1 else "")
        for key_id, name in named
    }
