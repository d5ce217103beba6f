"""What to do about a refused bundle or batch, in the GUI's own words (its menus)."""

from __future__ import annotations

from ..core.api import what_to_do

GUI_PLACES = {
    "trust_key": "Keys ▸ Trusted signers",
    "import_batch": "File ▸ Import batch",
    "import_bundles": "File ▸ Import bundles",
}


def advice(reason: str) -> str:
    """Core's advice for ``reason``, pointing at the GUI's menus."""
    return what_to_do(reason, GUI_PLACES)
