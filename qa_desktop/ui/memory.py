"""Giving freed picture memory back to the system (issue 15: GUI memory while browsing).

Every case decodes, protects and paints pictures of several MiB. glibc's allocator serves
big blocks with ``mmap`` (returned to the system when freed) only up to a threshold that it
raises each time such a block is freed; after the first few cases every picture came from
the heap instead, which fragments and does not shrink: the resident size grew by ~150 MiB
over 50 demo cases. Fixing the threshold keeps picture buffers in ``mmap``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
PICTURE_BLOCK_BYTES = 256 * 1024
"""Blocks from this size up (a 300x300 RGB picture) are mapped, and freed to the system."""


def return_freed_pictures_to_os() -> bool:
    """On Linux with glibc: map big blocks (and trim the heap) from ``PICTURE_BLOCK_BYTES``
    up, however many were freed before. True when the allocator took the setting."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mapped = int(mallopt(M_MMAP_THRESHOLD, PICTURE_BLOCK_BYTES)) == 1
    trimmed = int(mallopt(M_TRIM_THRESHOLD, 2 * PICTURE_BLOCK_BYTES)) == 1
    return mapped and trimmed
