"""Review proxies: H.264 movies of shots and of proposals, built once, on demand, off the server.

A shot's proxy is ``cache/proxies/<shot>.mp4``: the shot's frames in the clip's own encoding
(as ``rushes render --format mp4`` keeps it, so an A/B wipe compares like with like), long side
at most :data:`PROXY_LONG_SIDE`. A proposal's proxy is its ``mp4`` render made by
:func:`rushes.ops.render.render_proposal` (with its ``provenance.json`` and audit entry) into
``cache/proxies/proposals/<id>/``; it is complete when ``provenance.json`` is there.

:class:`MediaJobs` builds them in a worker process (default) so the review server keeps
answering while a render runs; each proxy is built once however many pages ask for it, and
written atomically (a killed build leaves no half file under the final name). Everything under
``cache/`` is safe to delete: it is rebuilt on the next request.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rushes.errors import RushesError
from rushes.media import fit_size, open_media, write_h264
from rushes.media.timecode import frames_to_timecode, is_drop_frame_timecode, timecode_to_frames
from rushes.project import Project, Shot
from rushes.project.settings import parse_rate

PROXY_LONG_SIDE = 1920
"""Long side of shot proxies (pixels); smaller sources keep their size."""
PROXY_CRF = 20
PROXY_DIR = ("cache", "proxies")
PROVENANCE = "provenance.json"


def safe_name(name: str) -> str:
    """A shot name as a file name (as renders name their files)."""
    return name.replace("#", "_").replace("/", "_").replace("\\", "_")


def shot_proxy_path(project: Project, shot_name: str) -> Path:
    """Where the proxy of ``shot_name`` lives: ``cache/proxies/<shot>.mp4``."""
    return project.path(*PROXY_DIR, f"{safe_name(shot_name)}.mp4")


def proposal_proxy_dir(project: Project, proposal_id: int) -> Path:
    """Where the review render of a proposal goes: ``cache/proxies/proposals/<id>/``."""
    return project.path(*PROXY_DIR, "proposals", str(int(proposal_id)))


def ready_shot_proxy(project: Project, shot_name: str) -> Path | None:
    """The shot's proxy when it has been built, else ``None``."""
    path = shot_proxy_path(project, shot_name)
    return path if path.is_file() else None


def ready_proposal_proxy(project: Project, proposal_id: int) -> Path | None:
    """The proposal's review movie when its render has finished, else ``None``."""
    folder = proposal_proxy_dir(project, proposal_id)
    if not (folder / PROVENANCE).is_file():
        return None
    movies = sorted(folder.glob("*.mp4"))
    return movies[0] if movies else None


def proxy_size(width: int, height: int, long_side: int = PROXY_LONG_SIDE) -> tuple[int, int]:
    """Size of a proxy of a ``width`` x ``height`` source: never enlarged, even dimensions
    (H.264 4:2:0 needs them)."""
    w, h = fit_size(width, height, long_side)
    return max(2, w - w % 2), max(2, h - h % 2)


def shot_timecode(tc: str | None, fps: str, start: int) -> str | None:
    """Source timecode of the shot's first frame (the clip's timecode plus ``start``)."""
    if not tc:
        return None
    try:
        rate = float(parse_rate(fps))
        return frames_to_timecode(
            timecode_to_frames(tc, rate) + start, rate, drop_frame=is_drop_frame_timecode(tc)
        )
    except RushesError:
        return None


def build_shot_proxy(root: str, shot_id: int, long_side: int = PROXY_LONG_SIDE) -> str:
    """Write the proxy of shot ``shot_id`` of the project at ``root`` (streamed, atomic).

    Runs in a worker process: takes plain arguments and opens the project itself.

    Returns:
        The proxy's path.

    Raises:
        RushesError: the shot is gone, or its original cannot be read (named).
    """
    project = Project.open(Path(root))
    try:
        with project.session() as s:
            shot = s.get(Shot, shot_id)
            if shot is None:
                raise RushesError(f"shot {shot_id} is no longer in the catalog; reload the page")
            name, start, end = shot.name, shot.start, shot.end
            clip = shot.clip
            path, fps, tc = clip.path, clip.fps or project.settings.fps, clip.timecode
            size = proxy_size(clip.width, clip.height, long_side)
        rate = parse_rate(fps)
        out = shot_proxy_path(project, name)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open_media(Path(path), fps=rate) as reader:
            frames = (f for _, f in reader.iter_frames(start, end, size))
            write_h264(frames, out, fps=rate, crf=PROXY_CRF, timecode=shot_timecode(tc, fps, start))
        return str(out)
    finally:
        project.close()


def build_proposal_proxy(root: str, proposal_id: int) -> str:
    """Render proposal ``proposal_id`` as an H.264 review movie with its provenance.

    Runs in a worker process: takes plain arguments and opens the project itself.

    Returns:
        The movie's path.
    """
    from rushes.ops.render import render_proposal

    project = Project.open(Path(root))
    try:
        folder = proposal_proxy_dir(project, proposal_id)
        render_proposal(project, proposal_id, "mp4", folder)
        movie = ready_proposal_proxy(project, proposal_id)
        if movie is None:
            raise RushesError(f"the render of proposal {proposal_id} wrote no movie in {folder}")
        return str(movie)
    finally:
        project.close()


@dataclass(frozen=True)
class Job:
    """Where a proxy stands: ``ready`` (with its ``path``), ``building`` or ``failed``
    (with a one-line ``error``)."""

    state: str
    path: Path | None = None
    error: str | None = None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, BrokenProcessPool):
        return "the proxy worker process died (out of memory?); reload the page to try again"
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if isinstance(exc, RushesError) else f"{type(exc).__name__}: {first}"


class MediaJobs:
    """Builds proxies in the background, each once, and says where each one stands.

    Args:
        workers: Builds run at once.
        processes: Run builds in worker processes (default; the server's own process stays
            free to answer) or in threads (``False``: lighter, for tests and small footage).
    """

    def __init__(self, workers: int = 1, processes: bool = True) -> None:
        self.workers = max(1, workers)
        self.processes = processes
        self._pool: Executor | None = None
        self._jobs: dict[str, Future[str]] = {}
        self._lock = threading.Lock()

    def _executor(self) -> Executor:
        if self._pool is None:
            if self.processes:
                ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
                self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
            else:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="rushes-proxy")
        return self._pool

    def ensure(
        self,
        key: str,
        ready: Callable[[], Path | None],
        build: Callable[..., str],
        *args: Any,
    ) -> Job:
        """The state of proxy ``key``, starting its build when it is neither built nor being
        built. A failed build stays failed (with its message) until :meth:`forget`."""
        path = ready()
        if path is not None:
            return Job("ready", path)
        with self._lock:
            fut = self._jobs.get(key)
            if fut is not None and fut.done():
                exc = fut.exception()
                if exc is not None:
                    if isinstance(exc, BrokenProcessPool):  # start over with a new pool
                        self._jobs.pop(key, None)
                        self._pool = None
                    return Job("failed", error=_one_line(exc))
                path = ready()
                if path is not None:
                    return Job("ready", path)
                fut = None  # built, then removed from the cache: build again
            if fut is None:
                try:
                    fut = self._submit(build, *args)
                except Exception as e:  # no worker could be started: say so, stay up
                    return Job("failed", error=f"cannot start a proxy worker ({_one_line(e)})")
                self._jobs[key] = fut
        return Job("building")

    def _submit(self, build: Callable[..., str], *args: Any) -> Future[str]:
        try:
            return self._executor().submit(build, *args)
        except BrokenProcessPool:  # a worker died earlier: one new pool, one more try
            self._pool = None
            return self._executor().submit(build, *args)

    def wait(self, key: str, timeout: float | None = None) -> None:
        """Block until the build of ``key`` (if one was started) ends."""
        with self._lock:
            fut = self._jobs.get(key)
        if fut is not None:
            fut.exception(timeout)

    def forget(self, key: str) -> None:
        """Drop what is known of ``key`` (a failed build is tried again on the next ask)."""
        with self._lock:
            self._jobs.pop(key, None)

    def shutdown(self) -> None:
        """Stop taking work; builds under way are abandoned (worker processes are ended; the
        atomic writers leave nothing under a final name)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            if proc.is_alive():
                proc.terminate()


__all__ = [
    "PROXY_LONG_SIDE",
    "Job",
    "MediaJobs",
    "build_proposal_proxy",
    "build_shot_proxy",
    "proposal_proxy_dir",
    "proxy_size",
    "ready_proposal_proxy",
    "ready_shot_proxy",
    "safe_name",
    "shot_proxy_path",
    "shot_timecode",
]
