"""The reports screen, its QPainter charts and the PDF writer (the Qt side of reports).

Figures come from core (``ws.reports``); here they are shown (:mod:`.screen`), painted
(:mod:`.charts`) and printed (:mod:`.pdf`).
"""
