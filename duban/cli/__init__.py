"""The `duban` command line (Typer): thin commands over db, notifications and flows."""

from duban.cli.main import app, main

__all__ = ["app", "main"]
