"""Writers: half-float EXR sequences, ProRes 422 HQ / 4444 MOV, H.264 review proxies.

Every writer is atomic: it writes under a temporary name in the destination folder and renames
into place only when the file is complete, so a killed render never leaves a half file under
the final name.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import OpenImageIO as oiio

from rushes.atomic import atomic_path
from rushes.errors import MediaError

_PRORES_PROFILES = {"proxy": 0, "lt": 1, "422": 2, "hq": 3, "4444": 4, "4444xq": 5}


def _check(frame: np.ndarray) -> np.ndarray:
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3) RGB, got shape {frame.shape}")
    return frame


def write_exr_sequence(
    frames: Iterable[np.ndarray],
    pattern: Path,
    first_frame: int = 1001,
    fps: Fraction | None = None,
    compression: str = "zip",
) -> list[Path]:
    """Write frames as a half-float OpenEXR sequence, one file per frame, each atomically.

    Args:
        frames: float32 ``(H, W, 3)`` RGB frames, any range (scene-linear values kept), or
            ``(H, W)`` mattes, written as a single ``A`` channel (what Nuke reads as alpha).
        pattern: printf pattern, e.g. ``out/plate.%04d.exr``.
        first_frame: Number of the first file.
        fps: Stored as the ``FramesPerSecond`` attribute when given.
        compression: EXR compression (``zip``, ``piz``, ``dwaa``, ``none``).

    Returns:
        The written paths.
    """
    pattern = Path(pattern)
    out: list[Path] = []
    for k, frame in enumerate(frames):
        matte = frame.ndim == 2
        frame = frame[:, :, None] if matte else _check(frame)
        path = Path(str(pattern) % (first_frame + k))
        spec = oiio.ImageSpec(frame.shape[1], frame.shape[0], frame.shape[2], "half")
        if matte:
            spec.channelnames = ("A",)
            spec.alpha_channel = 0
        spec.attribute("compression", compression)
        if fps:
            spec.attribute(
                "FramesPerSecond", oiio.TypeDesc("rational"), (fps.numerator, fps.denominator)
            )
        with atomic_path(path) as tmp:
            o = oiio.ImageOutput.create(str(tmp))
            if o is None or not o.open(str(tmp), spec):
                raise MediaError(f"{path}: cannot write EXR ({oiio.geterror()})")
            ok = o.write_image(np.ascontiguousarray(frame, dtype=np.float32))
            o.close()
            if not ok:
                raise MediaError(f"{path}: EXR write failed ({o.geterror()})")
        out.append(path)
    return out


def _write_movie(
    frames: Iterable[np.ndarray],
    path: Path,
    fps: Fraction,
    codec: str,
    pix_fmt: str,
    options: dict[str, str],
    timecode: str | None,
    deep: bool,
) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fmt = "mov" if path.suffix.lower() == ".mov" else "mp4"
        with av.open(str(tmp), mode="w", format=fmt, options={"movflags": "+faststart"}) as c:
            if timecode:
                c.metadata["timecode"] = timecode
            stream: Any = c.add_stream(codec, rate=fps)
            stream.pix_fmt = pix_fmt
            stream.options = options
            # Rec.709 YUV matrix and video range, tagged so every decoder converts alike (the
            # transfer is the clip's own encoding and is left untagged)
            cc = stream.codec_context
            cc.colorspace, cc.color_range = 1, 1
            scale, dtype, rgb_fmt = (
                (65535.0, np.uint16, "rgb48le") if deep else (255.0, np.uint8, "rgb24")
            )
            first = True
            for frame in frames:
                frame = _check(frame)
                if first:
                    stream.width, stream.height = frame.shape[1], frame.shape[0]
                    first = False
                arr = (np.clip(frame, 0.0, 1.0) * scale + 0.5).astype(dtype)
                vf = av.VideoFrame.from_ndarray(arr, format=rgb_fmt)
                vf = vf.reformat(format=pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG")
                vf.colorspace, vf.color_range = 1, 1
                for pkt in stream.encode(vf):
                    c.mux(pkt)
            if first:
                raise ValueError(f"{path}: no frames to write")
            for pkt in stream.encode():
                c.mux(pkt)
    return path


def write_prores(
    frames: Iterable[np.ndarray],
    path: Path,
    fps: Fraction = Fraction(24),
    profile: str = "hq",
    timecode: str | None = None,
) -> Path:
    """Write a ProRes MOV (``prores_ks``), 10-bit 4:2:2 (HQ ...) or 4:4:4 (4444), atomically.

    Args:
        frames: float32 ``(H, W, 3)`` RGB in [0, 1], display/log encoded (values are clipped).
        path: Destination ``.mov``.
        fps: Frame rate.
        profile: ``proxy``, ``lt``, ``422``, ``hq`` (default), ``4444`` or ``4444xq``.
        timecode: Start timecode written to the MOV's timecode track.
    """
    if profile not in _PRORES_PROFILES:
        raise ValueError(
            f"ProRes profile {profile!r} unknown; use one of {sorted(_PRORES_PROFILES)}"
        )
    n = _PRORES_PROFILES[profile]
    pix = "yuv444p10le" if n >= 4 else "yuv422p10le"
    opts = {"profile": str(n), "vendor": "apl0"}
    return _write_movie(frames, path, fps, "prores_ks", pix, opts, timecode, deep=True)


def write_h264(
    frames: Iterable[np.ndarray],
    path: Path,
    fps: Fraction = Fraction(24),
    crf: int = 20,
    timecode: str | None = None,
) -> Path:
    """Write an H.264 review proxy (yuv420p, 8-bit, ``crf``), atomically.

    Args:
        frames: float32 ``(H, W, 3)`` RGB in [0, 1], display encoded; width and height even.
    """
    opts = {"crf": str(crf), "preset": "fast"}
    return _write_movie(frames, path, fps, "libx264", "yuv420p", opts, timecode, deep=False)
