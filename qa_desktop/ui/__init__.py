"""The PySide6 front end: thin widgets that call the core through one Workspace."""
