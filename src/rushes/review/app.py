"""The review server: a FastAPI app over one project (``create_app``).

What it serves, all behind the access token printed when the server starts:

* ``/``: the review page (one HTML page, one script, one stylesheet from ``static/``); the
  shots of the project, or of an imported cut, as a grid of thumbnails; a shot page with a
  player over proxies, an A/B wipe between the original and a proposal, frame stepping, scopes
  and the proposal's parameters; approve / reject with a note.
* ``/api/...``: JSON. Decisions go through :func:`rushes.guard.decisions.decide`, the same
  function (same rules, same audit log) as ``rushes approve`` / ``rushes reject``.
* ``/files/<path>``: thumbnails and proxies under the project's ``cache/`` only; anything else
  (``..``, encoded or not, absolute paths, symbolic links leading out) is refused.

Access: the token comes once in the URL (``/?token=...``); the server answers with an
HttpOnly, SameSite=Strict cookie and a redirect to ``/``. Scripts send ``Authorization: Bearer
TOKEN`` instead. A POST made with the cookie must also carry the ``X-Rushes-Token`` header with
the page's CSRF value (``/api/session``), which another site cannot read. A missing or wrong
token gets a 401 saying what to do; errors of the catalog become HTTP errors with the same
one-line message the CLI prints (404 unknown shot or proposal, 409 someone decided first,
400 refused decision, 423 locked shot, 403 a user not in ``rushes.toml``'s ``users``).

Proxies are built on first request in a worker process (:mod:`rushes.review.proxies`), so the
server keeps answering while a render runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from rushes.errors import (
    DecisionConflictError,
    DecisionError,
    LockedError,
    NotFoundError,
    ProjectError,
    RushesError,
)
from rushes.guard.decisions import decide
from rushes.media import open_media
from rushes.ops.proposals import load_plan, proposal_row
from rushes.project import Lock, Project, Proposal, Shot, query
from rushes.project.catalog import Cut, CutEvent
from rushes.project.workspace import CATALOG_FILE
from rushes.review import proxies
from rushes.review.proxies import PROXY_LONG_SIDE, MediaJobs
from rushes.review.scopes import encode_png, scope_panel

CSRF_HEADER = "X-Rushes-Token"
SERVED_ROOTS = (("cache", "thumbs"), ("cache", "proxies"))
"""The only folders ``/files/`` serves from (relative to the project)."""
STATIC = {"app.js": "text/javascript", "style.css": "text/css"}
SCOPE_LONG_SIDE = 480
PAGE_HEADERS = {
    # everything from this server, nothing inline but the login page's style, never framed
    # (an approve button cannot be clicked through another site's page)
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
T = TypeVar("T")
_ERRORS: tuple[tuple[type[RushesError], int], ...] = (
    (DecisionConflictError, 409),
    (DecisionError, 400),
    (LockedError, 423),
    (NotFoundError, 404),
    (ProjectError, 403),
    (RushesError, 400),
)
_MISSING = (
    "no access token: open the URL that 'rushes review' printed (it ends in ?token=...), "
    "or send 'Authorization: Bearer TOKEN'"
)
_WRONG = (
    "wrong access token: the token changes each time 'rushes review' starts; "
    "open the URL it printed last"
)


def _status(exc: RushesError) -> int:
    for kind, code in _ERRORS:
        if isinstance(exc, kind):
            return code
    return 400


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


class DecisionBody(BaseModel):
    """What the page posts to approve or reject."""

    note: str | None = Field(None, max_length=4000)
    user: str | None = Field(None, max_length=64, description="reviewer name (default: server's)")


class _ActingAs(Project):
    """The server's project, acting as another reviewer (same catalog engine)."""

    def __init__(self, base: Project, who: str) -> None:
        self.root = base.root
        self.settings = base.settings
        self._engine = base.engine
        self._sessions = None
        self._who = who

    @property
    def user(self) -> str:
        return self._who


class _Auth:
    """Checks the token on every request but the login page."""

    def __init__(self, token: str) -> None:
        if len(token) < 16:
            raise ValueError("the review token must have at least 16 characters")
        self.token = token
        digest = hashlib.sha256(token.encode()).hexdigest()
        self.cookie = f"rushes_review_{digest[:10]}"  # two servers on one host keep apart
        self.csrf = hmac.new(token.encode(), b"rushes-review-csrf", hashlib.sha256).hexdigest()

    async def __call__(self, request: Request) -> str:  # async: no thread hop per request
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise HTTPException(
                    401,
                    f"Authorization header must be 'Bearer TOKEN', got '{scheme} ...'",
                    {"WWW-Authenticate": "Bearer"},
                )
            if not _same(value.strip(), self.token):
                raise HTTPException(401, _WRONG, {"WWW-Authenticate": "Bearer"})
            return "bearer"
        cookie = request.cookies.get(self.cookie)
        if cookie is None:
            raise HTTPException(401, _MISSING, {"WWW-Authenticate": "Bearer"})
        if not _same(cookie, self.token):
            raise HTTPException(401, _WRONG, {"WWW-Authenticate": "Bearer"})
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get(CSRF_HEADER)
            if sent is None or not _same(sent, self.csrf):
                raise HTTPException(
                    403,
                    f"a {request.method} with the session cookie needs the {CSRF_HEADER} header "
                    "the review page sends; reload the page (scripts: use Authorization: Bearer)",
                )
        return "cookie"


def _static(name: str) -> bytes:
    return resources.files("rushes.review").joinpath("static", name).read_bytes()


def _login_page(message: str = "") -> str:
    note = f'<p class="err">{escape(message)}</p>' if message else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rushes review: log in</title>
<style>body{{background:#16181c;color:#ddd;font:15px system-ui,sans-serif;display:grid;
place-items:center;height:90vh}}form{{background:#22252b;padding:24px 28px;border-radius:8px;
width:420px}}input{{width:100%;box-sizing:border-box;padding:8px;margin:10px 0;background:#111;
color:#eee;border:1px solid #444;border-radius:4px}}button{{padding:8px 18px}}
.err{{color:#ff8a80}}</style></head>
<body><form method="get" action="/" id="login"><h2>rushes review</h2>{note}
<label for="token">Access token (printed by <code>rushes review</code>, after
<code>?token=</code>)</label><input id="token" name="token" type="password" autofocus
autocomplete="off"><button type="submit" id="login-button">Open</button></form></body></html>
"""


def _file_url(rel: str | None) -> str | None:
    return f"/files/{quote(rel)}" if rel else None


def _small(result: dict[str, Any], limit: int = 2000) -> dict[str, Any]:
    """The parts of a proposal's result worth showing (large arrays left out, named)."""
    out: dict[str, Any] = {}
    for k, v in result.items():
        if k == "guard":
            continue
        text = json.dumps(v, default=str)
        out[k] = v if len(text) <= limit else f"({len(text)} characters, not shown)"
    return out


class _ScopeCache:
    """The last few scope images (they are asked for again as a reviewer steps around)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, frame: int, build: Any) -> bytes:
        key = (str(path), path.stat().st_mtime_ns, frame)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        png = build()
        with self._lock:
            self._items[key] = png
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return png


class _CatalogMemo:
    """Answers computed from the catalog, kept until the catalog changes.

    The catalog is SQLite in WAL mode: every commit, by this server or any other process (the
    CLI), changes the size or time of ``catalog.sqlite-wal`` or of the database file, so their
    ``stat`` is the catalog's version. Errors are not kept.
    """

    def __init__(self, project: Project, size: int = 256) -> None:
        self.files = [project.root / CATALOG_FILE, project.root / f"{CATALOG_FILE}-wal"]
        self.size = size
        self._items: OrderedDict[Any, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def version(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for f in self.files:
            try:
                st = f.stat()
                out.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append(None)
        return tuple(out)

    def get(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()``'s value for ``key`` as of the catalog's current version."""
        version = self.version()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] == version:
                self._items.move_to_end(key)
                return cast(T, hit[1])
        value = compute()
        with self._lock:
            self._items[key] = (version, value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class _SmallFiles:
    """Thumbnails and other small served files kept in memory (checked against the file's
    size and modification time on every request), so a grid of thumbnails costs no disk
    reads and no thread hops."""

    def __init__(self, max_file: int = 512 * 1024, max_total: int = 64 * 1024 * 1024) -> None:
        self.max_file = max_file
        self.max_total = max_total
        self.total = 0
        self._items: OrderedDict[Path, tuple[int, int, bytes, str, str]] = OrderedDict()

    def get(self, path: Path) -> tuple[bytes, str, str] | None:
        """``(body, etag, content type)`` of ``path``, or ``None`` when it is too large to
        keep (serve it from disk)."""
        try:
            st = path.stat()
        except OSError:
            return None
        if st.st_size > self.max_file:
            return None
        item = self._items.get(path)
        if item is not None and item[0] == st.st_mtime_ns and item[1] == st.st_size:
            self._items.move_to_end(path)
            return item[2], item[3], item[4]
        try:
            body = path.read_bytes()
        except OSError:
            return None
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if item is not None:
            self.total -= len(item[2])
        self._items[path] = (st.st_mtime_ns, st.st_size, body, etag, kind)
        self.total += len(body)
        while self.total > self.max_total and self._items:
            _, old = self._items.popitem(last=False)
            self.total -= len(old[2])
        return body, etag, kind


def create_app(
    project: Project,
    token: str,
    *,
    jobs: MediaJobs | None = None,
    proxy_long_side: int = PROXY_LONG_SIDE,
) -> FastAPI:
    """The review app of ``project``.

    Args:
        project: The open project; nothing outside its folder is served.
        token: The access token (at least 16 characters; ``secrets.token_urlsafe()``).
        jobs: Where proxies are built (default: one worker process, shut down with the app).
        proxy_long_side: Long side of shot proxies.

    Returns:
        The FastAPI application (serve it with uvicorn; :mod:`rushes.review.server`).
    """
    auth = _Auth(token)
    own_jobs = jobs is None
    media = jobs if jobs is not None else MediaJobs()
    scopes = _ScopeCache()
    small = _SmallFiles()
    memo = _CatalogMemo(project)
    thumbs = project.root.joinpath(*SERVED_ROOTS[0]).resolve()
    served = [project.root.joinpath(*parts) for parts in SERVED_ROOTS]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if own_jobs:
            media.shutdown()

    app = FastAPI(
        title="rushes review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )

    @app.exception_handler(RushesError)
    async def _rushes_error(_: Request, exc: RushesError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_status(exc))

    # -- pages without the token --------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login() -> HTMLResponse:
        return HTMLResponse(_login_page(), headers=PAGE_HEADERS)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", include_in_schema=False)
    async def index(request: Request, token: str | None = None) -> Response:
        if token is not None:
            if not _same(token.strip(), auth.token):
                return HTMLResponse(_login_page(_WRONG), status_code=401, headers=PAGE_HEADERS)
            out = RedirectResponse("/", status_code=303)
            out.set_cookie(auth.cookie, auth.token, httponly=True, samesite="strict", path="/")
            return out
        try:
            await auth(request)
        except HTTPException:
            return RedirectResponse("/login", status_code=303)
        page = HTMLResponse(_static("index.html"), headers=PAGE_HEADERS)
        page.headers["Cache-Control"] = "no-store"
        return page

    # -- everything else needs it ---------------------------------------------------------------

    api = APIRouter(dependencies=[Depends(auth)])

    @api.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, f"no static file '{name}'")
        return Response(_static(name), media_type=STATIC[name])

    @api.get("/api/session")
    def session() -> dict[str, Any]:
        """Who the server acts as by default, who may decide, and the CSRF value for POSTs."""
        return {
            "project": project.settings.name,
            "user": project.user,
            "users": list(project.settings.users),
            "csrf": auth.csrf,
            "csrf_header": CSRF_HEADER,
        }

    @api.get("/api/shots")
    def shots(cut: str | None = None) -> Response:
        """The shots to review: those of cut ``cut`` (default: the cut imported last, when
        there is one), or every shot of the project with ``cut=all``."""
        body = memo.get(
            ("grid", cut), lambda: json.dumps(_shot_grid(project, cut), default=str).encode()
        )
        return Response(body, media_type="application/json")

    @api.get("/api/shots/{name}")
    def shot(name: str) -> dict[str, Any]:
        """One shot: clip metadata, its lock, its proposals (newest first)."""
        with project.session() as s:
            sh = query.find_shot(s, name)
            row = query.shot_row(sh)
            clip = sh.clip
            lock = s.get(Lock, sh.id)
            props = s.scalars(
                select(Proposal).where(Proposal.shot_id == sh.id).order_by(Proposal.id.desc())
            ).all()
            return {
                **row,
                "fps": clip.fps or project.settings.fps,
                "width": clip.width,
                "height": clip.height,
                "timecode": proxies.shot_timecode(
                    clip.timecode, clip.fps or project.settings.fps, sh.start
                ),
                "colorspace": clip.colorspace,
                "thumbnail": _file_url(sh.thumbnail),
                "locked": {"by": lock.user, "at": lock.at, "note": lock.note} if lock else None,
                "proposals": [proposal_row(p) for p in props],
            }

    @api.get("/api/shots/{name}/media")
    def shot_media(name: str) -> dict[str, Any]:
        """The shot's proxy: ``ready`` with its URL, ``building`` (ask again) or ``failed``."""

        def look_up() -> tuple[int, str, str, int]:
            with project.session() as s:
                sh = query.find_shot(s, name)
                return sh.id, sh.name, sh.clip.fps or project.settings.fps, sh.frames

        shot_id, shot_name, fps, frames = memo.get(("shot", name), look_up)
        job = media.ensure(
            f"shot:{shot_id}",
            lambda: proxies.ready_shot_proxy(project, shot_name),
            proxies.build_shot_proxy,
            str(project.root),
            shot_id,
            proxy_long_side,
        )
        return _job_view(project, job, fps, frames)

    @api.get("/api/proposals/{pid}")
    def proposal(pid: int) -> dict[str, Any]:
        """One proposal: its row, parameters, what the guard decided, its decisions."""
        plan, row = load_plan(project, pid)
        return {
            **row,
            "params": plan.params,
            "guard_verdict": plan.result.get("guard"),
            "result": _small(plan.result),
        }

    @api.get("/api/proposals/{pid}/media")
    def proposal_media(pid: int) -> dict[str, Any]:
        """The proposal's review render: ``ready``, ``building`` or ``failed``."""
        with project.session() as s:
            prop = s.get(Proposal, pid)
            if prop is None:
                raise NotFoundError(f"no proposal {pid}; list them with 'rushes proposals'")
            fps = prop.shot.clip.fps or project.settings.fps
            frames = prop.shot.frames
        job = media.ensure(
            f"proposal:{pid}",
            lambda: proxies.ready_proposal_proxy(project, pid),
            proxies.build_proposal_proxy,
            str(project.root),
            pid,
        )
        return _job_view(project, job, fps, frames)

    def _scope_png(path: Path | None, what: str, frame: int) -> Response:
        if path is None:
            raise HTTPException(
                409, f"the proxy of {what} is not built yet; ask for its media first"
            )

        def build() -> bytes:
            with open_media(path) as reader:
                n = reader.info.frames
                if frame >= n:
                    raise HTTPException(
                        400, f"frame {frame} is past the end of {what} (0..{n - 1})"
                    )
                w, h = reader.info.width, reader.info.height
                size = proxies.proxy_size(w, h, SCOPE_LONG_SIDE)
                return encode_png(scope_panel(reader.read(frame, size=size)))

        return Response(
            scopes.get(path, frame, build),
            media_type="image/png",
            headers={"Cache-Control": "private, max-age=60"},
        )

    @api.get("/api/shots/{name}/scopes.png")
    def shot_scopes(name: str, frame: int = Query(0, ge=0)) -> Response:
        """Waveform, vectorscope and histogram of frame ``frame`` of the shot's proxy."""
        with project.session() as s:
            shot_name = query.find_shot(s, name).name
        return _scope_png(proxies.ready_shot_proxy(project, shot_name), shot_name, frame)

    @api.get("/api/proposals/{pid}/scopes.png")
    def proposal_scopes(pid: int, frame: int = Query(0, ge=0)) -> Response:
        """The scopes of frame ``frame`` of the proposal's review render."""
        return _scope_png(proxies.ready_proposal_proxy(project, pid), f"proposal {pid}", frame)

    def _decide(pid: int, verdict: str, body: DecisionBody) -> dict[str, Any]:
        note = (body.note or "").strip() or None
        if verdict == "rejected" and note is None:
            raise HTTPException(400, "a rejection needs a note saying why; write one in the note")
        who = (body.user or "").strip()
        if who and not who.isprintable():
            raise HTTPException(400, "the reviewer name has control characters; type a plain name")
        acting = _ActingAs(project, who) if who else project
        return decide(acting, pid, verdict, note)

    @api.post("/api/proposals/{pid}/approve")
    def approve(pid: int, body: DecisionBody) -> dict[str, Any]:
        """Approve proposal ``pid`` (refused when stale, decided, superseded or locked)."""
        return _decide(pid, "approved", body)

    @api.post("/api/proposals/{pid}/reject")
    def reject(pid: int, body: DecisionBody) -> dict[str, Any]:
        """Reject proposal ``pid``; the note is required."""
        return _decide(pid, "rejected", body)

    @api.get("/files/{path:path}")
    async def files(path: str, request: Request) -> Response:
        """A thumbnail or proxy under the project's ``cache/``; nothing else. Proxies answer
        range requests (video seeking); thumbnails come from memory."""
        target = _inside(project.root, served, path)
        if "range" not in request.headers and target.is_relative_to(thumbs):
            hit = small.get(target)
            if hit is not None:
                body, etag, kind = hit
                headers = {"Cache-Control": "private, max-age=300", "ETag": etag}
                if request.headers.get("if-none-match") == etag:
                    return Response(status_code=304, headers=headers)
                return Response(body, media_type=kind, headers=headers)
        return FileResponse(
            target,
            headers={"Cache-Control": "private, max-age=300"},
            content_disposition_type="inline",
        )

    app.include_router(api)
    return app


def _inside(root: Path, served: list[Path], path: str) -> Path:
    """``path`` (relative to ``root``) resolved, when it is a file inside one of ``served``.

    Raises:
        HTTPException: 403 for anything resolving outside them (``..``, absolute paths,
            symbolic links leading out); 404 for a file that is not there.
    """
    refused = HTTPException(
        403,
        f"refused: '{path}' is not a thumbnail or proxy of this project "
        "(only files under its cache/thumbs and cache/proxies are served)",
    )
    if not path or "\x00" in path or os.path.isabs(path) or "\\" in path:
        raise refused
    try:
        target = (root / path).resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        raise refused from None
    allowed = [s.resolve() for s in served]
    if not any(target.is_relative_to(a) and target != a for a in allowed):
        raise refused
    if not target.is_file():
        raise HTTPException(404, f"no file '{path}' in the project's cache (deleted? reload)")
    return target


def _job_view(project: Project, job: proxies.Job, fps: str, frames: int) -> dict[str, Any]:
    out: dict[str, Any] = {"state": job.state, "fps": fps, "frames": frames}
    if job.path is not None:
        out["url"] = _file_url(project.rel(job.path))
    if job.error is not None:
        out["error"] = job.error
    return out


def _shot_grid(project: Project, cut: str | None) -> dict[str, Any]:
    """The grid's shots: a cut's (in record order) or the project's, with proposal counts."""
    with project.session() as s:
        counts: dict[int, dict[str, int]] = {}
        for shot_id, status, n in s.execute(
            select(Proposal.shot_id, Proposal.status, func.count()).group_by(
                Proposal.shot_id, Proposal.status
            )
        ):
            counts.setdefault(shot_id, {})[status] = n
        locked = set(s.scalars(select(Lock.shot_id)))
        cuts: list[str] = []
        chosen = None
        rows = s.scalars(select(Cut).order_by(Cut.imported_at.desc(), Cut.id.desc())).all()
        cuts = list(dict.fromkeys(c.name for c in rows))
        if cut is None and rows:
            chosen = rows[0]
        elif cut not in (None, "all"):
            chosen = next((c for c in rows if c.name == cut), None)
            if chosen is None:
                raise NotFoundError(
                    f"no cut named '{cut}' (cuts: {', '.join(cuts) or 'none'}); "
                    "import one with 'rushes import-cut'"
                )
        order: list[Shot] = []
        if chosen is not None:
            ids = s.scalars(
                select(CutEvent.shot_id)
                .where(CutEvent.cut_id == chosen.id, CutEvent.shot_id.is_not(None))
                .order_by(CutEvent.record_in, CutEvent.index)
            ).all()
            by_id = {sh.id: sh for sh in s.scalars(select(Shot).where(Shot.id.in_(ids)))}
            order = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
        else:
            order = query.list_shots(s)
        return {
            "source": "cut" if chosen is not None else "project",
            "cut": chosen.name if chosen is not None else None,
            "cuts": cuts,
            "shots": [
                {
                    **query.shot_row(sh),
                    "fps": sh.clip.fps or project.settings.fps,
                    "thumbnail": _file_url(sh.thumbnail),
                    "proposals": counts.get(sh.id, {}),
                    "locked": sh.id in locked,
                }
                for sh in order
            ],
        }


__all__ = ["CSRF_HEADER", "DecisionBody", "create_app"]
