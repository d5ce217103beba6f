"""``python -m qa_desktop`` and the ``qa-desktop`` console entry."""

from __future__ import annotations


def main() -> None:
    """Run the CLI (which opens the GUI when no sub-command is given)."""
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
