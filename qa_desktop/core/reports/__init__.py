"""Reports: what the verdicts add up to, for the lead and management (no Qt).

- :mod:`.room`: the room (``ws.reports``): findings and performance reports;
- :mod:`.intervals`: the Wilson interval and the small-n rule;
- :mod:`.figures`: accuracy, error taxonomy, confusion, flags, throughput, weighted accuracy;
- :mod:`.tables`: every figure as a plain table (the CSV files, the screen, the PDF);
- :mod:`.xlsx`: the Excel workbook with native charts and error bars.
"""

from __future__ import annotations

from .room import Reports

__all__ = ["Reports"]
