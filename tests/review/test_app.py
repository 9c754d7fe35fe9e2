"""The review server over HTTP: the token, CSRF, path traversal, errors mapped to HTTP codes,
decisions through the same API and audit as the CLI, lazy proxies with range requests, scopes,
a client vanishing mid-stream and a render running while the server answers."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select

from rushes.errors import RushesError
from rushes.guard.locks import lock_shot, unlock_shot
from rushes.ops.grain import Degrain, DegrainParams, Regrain, RegrainParams
from rushes.ops.proposals import propose
from rushes.project import AuditEvent, Decision, Project, Shot
from rushes.review.app import CSRF_HEADER
from rushes.review.proxies import MediaJobs
from rushes.review.server import ReviewServer
from tests.review.conftest import Review, make_review_project, wait_for

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Review:
    return make_review_project(tmp_path_factory.mktemp("review"))


@pytest.fixture(scope="module")
def jobs() -> Iterator[MediaJobs]:
    pool = MediaJobs(workers=1, processes=False)
    yield pool
    pool.shutdown()


@contextmanager
def serve(project: Project, jobs: MediaJobs | None = None) -> Iterator[httpx.Client]:
    """A real uvicorn server on a free port (in a thread) and an HTTP client for it."""
    server = ReviewServer(project, port=0, token=TOKEN, jobs=jobs).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            yield c
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(review: Review, jobs: MediaJobs) -> Iterator[httpx.Client]:
    with serve(review.project, jobs) as c:
        yield c


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ready(client: httpx.Client, url: str) -> dict[str, object]:
    """Ask for a proxy until it is built; its media record."""

    def check() -> dict[str, object] | None:
        m = client.get(url, headers=bearer()).json()
        assert m["state"] != "failed", m
        return m if m["state"] == "ready" else None

    return wait_for(check, timeout=60)


def test_token_is_required(client: httpx.Client) -> None:
    r = client.get("/api/shots")
    assert r.status_code == 401 and "no access token" in r.json()["detail"]
    assert "?token=" in r.json()["detail"]
    r = client.get("/api/shots", headers=bearer("not-the-token-at-all"))
    assert r.status_code == 401 and "wrong access token" in r.json()["detail"]
    r = client.get("/api/shots", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and "Bearer TOKEN" in r.json()["detail"]
    assert client.get("/static/app.js").status_code == 401
    assert client.get("/files/cache/thumbs/x.jpg").status_code == 401
    # the page sends a browser without the cookie to the login page, which needs no token
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    login = client.get("/login")
    assert login.status_code == 200 and 'name="token"' in login.text
    r = client.get("/?token=wrong-token-wrong-token")
    assert r.status_code == 401 and "wrong access token" in r.text


def test_token_in_url_becomes_a_strict_httponly_cookie(review: Review, jobs: MediaJobs) -> None:
    with serve(review.project, jobs) as c:
        r = c.get(f"/?token={TOKEN}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN.lower() in cookie
        page = c.get("/")  # the cookie now opens everything
        assert page.status_code == 200 and "/static/app.js" in page.text
        assert page.headers["x-frame-options"] == "DENY"  # no approving through a frame
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert c.get("/static/app.js").status_code == 200
        session = c.get("/api/session").json()
        assert session["csrf_header"] == CSRF_HEADER and session["csrf"] != TOKEN
        # a POST riding on the cookie alone (what a forged cross-site form would be) is refused
        r = c.post(f"/api/proposals/{review.pid}/approve", json={"note": "forged"})
        assert r.status_code == 403 and CSRF_HEADER in r.json()["detail"]
        r = c.post(
            f"/api/proposals/{review.pid}/approve",
            json={"note": "forged"},
            headers={CSRF_HEADER: "guess"},
        )
        assert r.status_code == 403
    with review.project.session() as s:
        assert s.scalars(select(Decision).where(Decision.proposal_id == review.pid)).first() is None


def test_shots_grid_and_shot_page(client: httpx.Client, review: Review) -> None:
    grid = client.get("/api/shots", headers=bearer()).json()
    assert grid["source"] == "project"
    names = [s["name"] for s in grid["shots"]]
    assert sorted(names) == sorted(review.shots)
    first = next(s for s in grid["shots"] if s["name"] == review.shots[0])
    assert first["proposals"].get("pending", 0) >= 1
    thumb = client.get(first["thumbnail"], headers=bearer())
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[2] == 3
    shot = client.get(f"/api/shots/{review.shots[0]}", headers=bearer()).json()
    assert shot["frames"] == 24 and shot["width"] == 320
    assert any(p["id"] == review.pid for p in shot["proposals"])
    p = client.get(f"/api/proposals/{review.pid}", headers=bearer()).json()
    assert p["op"] == "degrain" and p["params"]["strength"] == 1.0
    assert p["guard_verdict"]["rule"] == "global"


def test_unknown_things_are_404(client: httpx.Client) -> None:
    for url in ("/api/shots/NO_SUCH_SHOT", "/api/shots/NO_SUCH_SHOT/media", "/api/proposals/999"):
        r = client.get(url, headers=bearer())
        assert r.status_code == 404, url
    assert (
        "no shot named 'NO_SUCH_SHOT'"
        in client.get("/api/shots/NO_SUCH_SHOT", headers=bearer()).json()["detail"]
    )
    r = client.post("/api/proposals/999/approve", json={}, headers=bearer())
    assert r.status_code == 404 and "no proposal 999" in r.json()["detail"]
    r = client.get("/api/shots?cut=nothing", headers=bearer())
    assert r.status_code == 404 and "no cut named 'nothing'" in r.json()["detail"]
    assert client.get("/api/proposals/abc", headers=bearer()).status_code == 422


def test_path_traversal_is_refused(client: httpx.Client, review: Review, tmp_path: Path) -> None:
    root = review.project.root
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    thumbs = root / "cache" / "thumbs"
    (thumbs / "evil.jpg").symlink_to(secret)
    (root / "cache" / "proxies").mkdir(parents=True, exist_ok=True)
    (root / "cache" / "proxies" / "up").symlink_to(root)
    try:
        refused = [
            "/files/..%2F..%2F..%2Fetc%2Fpasswd",
            "/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/files/cache/thumbs/..%2F..%2Fcatalog.sqlite",
            "/files/cache/thumbs/%2E%2E/%2E%2E/rushes.toml",
            "/files/%2Fetc%2Fpasswd",
            "/files/rushes.toml",
            "/files/catalog.sqlite",
            "/files/cache/thumbs/..%5C..%5Crushes.toml",
            "/files/cache/thumbs/evil.jpg",  # a symbolic link leading out of the project
            "/files/cache/proxies/up/catalog.sqlite",  # a linked folder leading out of cache/
            "/files/cache/thumbs",
        ]
        for url in refused:
            r = client.get(url, headers=bearer())
            assert r.status_code == 403, (url, r.status_code)
            assert "refused" in r.json()["detail"] and "top secret" not in r.text
        r = client.get("/files/cache/thumbs/missing.jpg", headers=bearer())
        assert r.status_code == 404 and "missing.jpg" in r.json()["detail"]
    finally:
        (thumbs / "evil.jpg").unlink()
        (root / "cache" / "proxies" / "up").unlink()


def test_approve_then_conflict_and_audit(client: httpx.Client, review: Review) -> None:
    project = review.project
    pid, _, _ = propose(project, Regrain(), review.shots[1], RegrainParams())
    r = client.post(f"/api/proposals/{pid}/approve", json={"note": "grain ok"}, headers=bearer())
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "approved" and r.json()["by"] == project.user
    r = client.post(f"/api/proposals/{pid}/reject", json={"note": "no"}, headers=bearer())
    assert r.status_code == 409 and "already approved" in r.json()["detail"]
    r = client.post(f"/api/proposals/{pid}/approve", json={}, headers=bearer())
    assert r.status_code == 400 and "already approved (by you" in r.json()["detail"]
    r = client.post(
        f"/api/proposals/{pid}/approve", json={"user": "bob"}, headers=bearer()
    )  # someone else, after the first decision
    assert r.status_code == 409 and "not recorded" in r.json()["detail"]
    with project.session() as s:
        d = s.scalars(select(Decision).where(Decision.proposal_id == pid)).all()
        assert [(x.verdict, x.note, x.user) for x in d] == [("approved", "grain ok", project.user)]
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.target == f"proposal {pid}", AuditEvent.action == "approve"
            )
        ).all()
        assert len(ev) == 1 and ev[0].note == "grain ok" and ev[0].shot == review.shots[1]


def test_reject_needs_a_note_and_users_are_checked(review: Review, jobs: MediaJobs) -> None:
    project = Project.open(review.project.root)
    project.settings.users = ["alice", "bob"]
    pid, _, _ = propose(project, Degrain(), review.shots[1], DegrainParams(strength=0.5))
    with serve(project, jobs) as c:
        r = c.post(f"/api/proposals/{pid}/reject", json={"note": "  "}, headers=bearer())
        assert r.status_code == 400 and "needs a note" in r.json()["detail"]
        r = c.post(
            f"/api/proposals/{pid}/reject", json={"note": "no", "user": "mallory"}, headers=bearer()
        )
        assert r.status_code == 403 and "user 'mallory' may not decide" in r.json()["detail"]
        r = c.post(
            f"/api/proposals/{pid}/reject",
            json={"note": "too soft", "user": "alice"},
            headers=bearer(),
        )
        assert r.status_code == 200 and r.json()["by"] == "alice"
    with project.session() as s:
        d = s.scalars(select(Decision).where(Decision.proposal_id == pid)).one()
        assert (d.verdict, d.user, d.note) == ("rejected", "alice", "too soft")
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.target == f"proposal {pid}", AuditEvent.action == "reject"
            )
        ).one()
        assert ev.user == "alice"


def test_locked_shot_is_423(client: httpx.Client, review: Review) -> None:
    project = review.project
    shot = review.shots[0]
    pid, _, _ = propose(project, Regrain(), shot, RegrainParams(amount=0.5))
    lock_shot(project, shot, "picture locked")
    try:
        r = client.post(f"/api/proposals/{pid}/approve", json={}, headers=bearer())
        assert r.status_code == 423 and "is locked" in r.json()["detail"]
        assert client.get(f"/api/shots/{shot}", headers=bearer()).json()["locked"]["note"] == (
            "picture locked"
        )
    finally:
        unlock_shot(project, shot, "test done")


def test_proxies_ranges_and_scopes(client: httpx.Client, review: Review) -> None:
    shot = review.shots[0]
    m = ready(client, f"/api/shots/{shot}/media")
    assert m["url"] == f"/files/cache/proxies/{shot}.mp4" and m["frames"] == 24
    full = client.get(str(m["url"]), headers=bearer())
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    assert full.headers["accept-ranges"] == "bytes"
    size = len(full.content)
    part = client.get(str(m["url"]), headers={**bearer(), "Range": "bytes=100-1123"})
    assert part.status_code == 206 and part.content == full.content[100:1124]
    assert part.headers["content-range"] == f"bytes 100-1123/{size}"
    bad = client.get(str(m["url"]), headers={**bearer(), "Range": f"bytes={size + 10}-"})
    assert bad.status_code == 416
    p = ready(client, f"/api/proposals/{review.pid}/media")
    assert str(p["url"]).startswith(f"/files/cache/proxies/proposals/{review.pid}/")
    assert (
        review.project.root / "cache/proxies/proposals" / str(review.pid) / "provenance.json"
    ).is_file()
    png = client.get(f"/api/shots/{shot}/scopes.png?frame=5", headers=bearer())
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    img = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[1] > 3 * 256 and img.std() > 5  # three scopes with something drawn
    b = client.get(f"/api/proposals/{review.pid}/scopes.png?frame=5", headers=bearer())
    assert b.status_code == 200 and b.content != png.content
    r = client.get(f"/api/shots/{shot}/scopes.png?frame=24", headers=bearer())
    assert r.status_code == 400 and "past the end" in r.json()["detail"]
    assert client.get(f"/api/shots/{shot}/scopes.png?frame=-1", headers=bearer()).status_code == 422


def _raw(port: int, request: bytes, read: int = 65536) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while len(data) < read:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _get(port: int, path: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return _raw(
        port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n".encode()
    )


def test_real_server_survives_disconnects_and_answers_during_a_render(review: Review) -> None:
    server = ReviewServer(review.project, port=0, token=TOKEN, jobs=MediaJobs(processes=True))
    server.start()
    port = server.port
    try:
        assert server.url == f"http://127.0.0.1:{port}/?token={TOKEN}"
        assert _get(port, "/api/shots", None).startswith(b"HTTP/1.1 401")
        # a raw path the client does not normalize
        head = _get(port, "/files/../../../../etc/passwd", TOKEN)
        assert head.startswith(b"HTTP/1.1 403") and b"root:" not in head
        with pytest.raises(RushesError, match="in use"):
            ReviewServer(review.project, port=port, token=TOKEN)
        shot = review.shots[1]
        url = f"/api/shots/{shot}/media"
        with httpx.Client(base_url=server.base_url, headers=bearer(), timeout=30) as c:
            media = wait_for(lambda: (m := c.get(url).json())["state"] == "ready" and m, 90)
            # clients that go away mid-stream: closed with a reset after the first bytes
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(
                    f"GET {media['url']} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                    "\r\n".encode()
                )
                assert s.recv(512).startswith(b"HTTP/1.1 200")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            assert c.get("/api/session").status_code == 200
            # a render running in the worker process while the server keeps answering
            pid, _, _ = propose(review.project, Degrain(), shot, DegrainParams(strength=1.5))
            assert c.get(f"/api/proposals/{pid}/media").json()["state"] == "building"
            answered_during = 0
            while c.get(f"/api/proposals/{pid}/media").json()["state"] == "building":
                t = time.perf_counter()
                r = c.get("/api/shots")
                assert r.status_code == 200
                assert time.perf_counter() - t < 2.0
                answered_during += 1
                time.sleep(0.05)
            assert answered_during >= 3
            assert c.get(f"/api/proposals/{pid}/media").json()["state"] == "ready"
            done = review.project.path("cache", "proxies", "proposals", str(pid), "provenance.json")
            assert done.is_file()
    finally:
        server.stop()


def test_grid_follows_the_catalog(client: httpx.Client, review: Review) -> None:
    """The grid is kept between requests until the catalog changes, by anyone."""
    shot = review.shots[1]

    def total() -> int:  # proposals of the shot in any state (a new one may supersede)
        grid = client.get("/api/shots", headers=bearer()).json()
        return sum(next(s for s in grid["shots"] if s["name"] == shot)["proposals"].values())

    before = total()
    other = Project.open(review.project.root)  # another process would do the same
    propose(other, Degrain(), shot, DegrainParams(strength=0.3))
    other.close()
    assert total() == before + 1


def test_grid_shows_the_cut_imported_last(client: httpx.Client, review: Review) -> None:
    from rushes.project import catalog

    project = review.project
    with project.session() as s:
        ids = {sh.name: sh.id for sh in s.scalars(select(Shot))}
        cut = catalog.Cut(
            name="reel1_v3",
            path="/cuts/reel1_v3.edl",
            format="edl",
            rate="24",
            checksum="0" * 16,
            imported_by="editor",
            otio="{}",
        )
        s.add(cut)
        s.flush()
        for k, (name, rec) in enumerate(((review.shots[1], 0), (review.shots[0], 24))):
            s.add(
                catalog.CutEvent(
                    cut_id=cut.id,
                    index=k,
                    name=name,
                    rate="24",
                    source_in=0,
                    source_out=24,
                    record_in=rec,
                    record_out=rec + 24,
                    matched=True,
                    shot_id=ids[name],
                    shots=[name],
                )
            )
    grid = client.get("/api/shots", headers=bearer()).json()
    assert grid["source"] == "cut" and grid["cut"] == "reel1_v3" and grid["cuts"] == ["reel1_v3"]
    assert [s["name"] for s in grid["shots"]] == [review.shots[1], review.shots[0]]
    every = client.get("/api/shots?cut=all", headers=bearer()).json()
    assert every["source"] == "project" and len(every["shots"]) == len(review.shots)
