"""PyInstaller entry script for the frozen ``qa-desktop`` executable.

Kept outside the package so the bundle's ``__main__`` is this file and ``qa_desktop`` is
imported as a normal package (relative imports work). Same behaviour as the ``qa-desktop``
console script: the CLI, which opens the GUI when no sub-command is given.
"""

from qa_desktop.__main__ import main

raise SystemExit(main())
