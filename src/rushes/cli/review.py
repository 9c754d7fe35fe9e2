"""``rushes review``: the review page in a web browser."""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from typing import Annotated

import typer

from rushes.cli.common import console, err_console, open_project


def _can_open_browser() -> bool:
    """A graphical browser can be opened (a desktop session, or macOS/Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def review(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free).")] = 8400,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on; the default lets only this machine in "
            "(0.0.0.0 opens the page to the network, still behind the token).",
        ),
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in a web browser.")
    ] = True,
) -> None:
    """Serve the review page: shots, player with A/B wipe, scopes, approve / reject.

    Prints a URL with a new access token; Ctrl-C stops the server.
    """
    from rushes.review.server import ReviewServer, is_local

    project = open_project()
    server = ReviewServer(project, host=host, port=port)
    console.print(f"review page: {server.url}", highlight=False, soft_wrap=True)
    console.file.flush()
    if not is_local(host):
        err_console.print(
            f"[yellow]warning:[/] listening on {host}: other machines can reach the page "
            "(they still need the token)",
            highlight=False,
        )
    if open_browser and _can_open_browser():
        threading.Timer(0.5, webbrowser.open, args=(server.url,)).start()
    err_console.print("Ctrl-C stops the server", highlight=False)
    server.serve()
