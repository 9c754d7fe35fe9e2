"""Running the review app with uvicorn: bind, print the URL with its token, serve.

The server binds to ``127.0.0.1`` unless told otherwise; the token is new at every start
(``secrets.token_urlsafe``). Port 0 picks a free port (the URL says which).

Example:
    >>> server = ReviewServer(Project.find(), port=0)  # doctest: +SKIP
    >>> print(server.url); server.serve()              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import secrets
import socket
import threading
import time

import uvicorn

from rushes.errors import RushesError
from rushes.project import Project
from rushes.review.app import create_app
from rushes.review.proxies import MediaJobs


def is_local(host: str) -> bool:
    """Whether ``host`` is a loopback address (only this machine can connect)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port``.

    Raises:
        RushesError: the port is taken, not allowed, or the address is not this machine's.
    """
    if not 0 <= port <= 65535:
        raise RushesError(f"port {port} is out of range; give one in 1024..65535 (0: any free)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise RushesError(
            f"cannot listen on '{host}' ({e.strerror}); give an address of this "
            "machine, e.g. --host 127.0.0.1"
        ) from None
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise RushesError(
                f"port {port} on {host} is in use (another 'rushes review'?); pass --port with "
                "another number"
            ) from None
        if e.errno == errno.EACCES:
            raise RushesError(
                f"port {port} needs administrator rights; pass --port 1024 or above"
            ) from None
        raise RushesError(f"cannot listen on {host}:{port} ({e.strerror})") from None
    sock.set_inheritable(True)
    return sock


class ReviewServer:
    """The review app served by uvicorn on one bound socket.

    Args:
        project: The open project.
        host: Address to listen on (default: this machine only).
        port: Port (0: any free one).
        token: Access token (default: a new random one).
        jobs: Where proxies are built (default: one worker process).
        log_level: uvicorn's log level (``warning`` keeps the terminal quiet).

    Raises:
        RushesError: the address cannot be bound (port in use, ...).
    """

    def __init__(
        self,
        project: Project,
        host: str = "127.0.0.1",
        port: int = 8400,
        token: str | None = None,
        jobs: MediaJobs | None = None,
        log_level: str = "warning",
    ) -> None:
        self.project = project
        self.token = token or secrets.token_urlsafe(24)
        self.app = create_app(project, self.token, jobs=jobs)
        self.socket = bind(host, port)
        self.host = host
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=3,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` as a browser on this machine (or another, for a public
        address) reaches it."""
        host = self.host
        if host in ("", "0.0.0.0", "::"):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The page's URL with the access token."""
        return f"{self.base_url}/?token={self.token}"

    def serve(self) -> None:
        """Serve until Ctrl-C (blocks)."""
        self.server.run(sockets=[self.socket])

    def start(self, timeout: float = 30.0) -> ReviewServer:
        """Serve in a background thread; returns once it answers."""
        self._thread = threading.Thread(target=self.serve, name="rushes-review", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RushesError(f"the review server did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop a server started with :meth:`start`."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.socket.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m rushes.review.server PROJECT [--host H] [--port P]``: the server alone
    (what ``rushes review`` runs, without opening a browser)."""
    import argparse
    import sys
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m rushes.review.server")
    parser.add_argument("project", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    args = parser.parse_args(argv)
    try:
        server = ReviewServer(Project.open(args.project), host=args.host, port=args.port)
    except RushesError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"review page: {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve()
    return 0


__all__ = ["ReviewServer", "bind", "is_local", "main"]


if __name__ == "__main__":
    raise SystemExit(main())
