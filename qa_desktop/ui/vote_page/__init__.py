"""The room vote page: a small web page the SME's app serves to a live calibration session.

``server.py`` serves it (Qt's ``QtHttpServer`` and ``QtWebSockets``), ``addresses.py``
picks where to listen, ``join_card.py`` shows the address, code and QR code to the room,
``launcher.py`` starts and stops it from the GUI. Every decision (codes, tokens, limits,
what a request may do, what the page may show) is core's: ``core/room_votes.py``.
"""
