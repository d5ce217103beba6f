"""Names of files inside archives and batches: plain, relative, the same on every system.

One rule for every file name that comes from outside (batch media paths, members of batch
archives, members and manifest entries of signed bundles), so a name that could escape the
folder it is extracted into, or mean different files on different systems, is refused the
same way everywhere::

    relative_path_problem("media/cat.png")          # None: fine
    relative_path_problem("../cat.png")             # "contains '..'; paths must stay inside"
    relative_path_problem("a:b.png", strict=True)   # "contains ':'"
"""

from __future__ import annotations

import re
import unicodedata

_DRIVE = re.compile(r"[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def relative_path_problem(path: str, *, strict: bool = False) -> str | None:
    """Why ``path`` is not a plain '/'-separated relative path, or None.

    Refused always: empty, backslashes, absolute paths and drive letters, ``..``, ``.``
    and empty parts, control characters, text that is not valid Unicode. ``strict`` (signed
    bundles, which other tools unpack on any system) also refuses ``:`` (Windows streams)
    and names not in Unicode NFC form (macOS would store them as another name).
    """
    if not path:
        return "is empty"
    if "\\" in path:
        return "contains a backslash; use '/' between folders"
    if path.startswith("/") or _DRIVE.match(path):
        return "is an absolute path; paths must be relative"
    parts = path.split("/")
    if ".." in parts:
        return "contains '..'; paths must stay inside their folder"
    if "" in parts or "." in parts:
        return "is not a plain relative path like media/cat.png"
    if _CONTROL.search(path):
        return "contains control characters"
    try:
        path.encode()
    except UnicodeEncodeError:
        return "is not valid Unicode"
    if strict and ":" in path:
        return "contains ':'"
    if strict and not unicodedata.is_normalized("NFC", path):
        return "is not in Unicode NFC form"
    return None
