"""``python -m rushes``."""

from rushes.cli.app import main

main()
