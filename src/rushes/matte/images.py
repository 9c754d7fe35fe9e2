"""Mattes from mask images: one image for the whole shot, or one image per frame.

``--mask mask.png`` gives one matte for every frame; ``--mask mattes/%04d.png`` (or
``mattes/name.####.png``, or a folder holding one numbered sequence) gives one per frame. Frame
``k`` of the shot is the file numbered ``first + k``, where ``first`` is the lowest number found
(so numbering may start at 0, 1, 1001 ...); a frame of the shot with no file is an error that
names the frame and the file expected. Files beyond the shot's length are ignored.

Any image OpenImageIO reads (PNG, TIFF, EXR, JPEG, DPX ...; OpenCV as a fallback) is a mask:
integer images are normalised to [0, 1] (8 bit / 255, 16 bit / 65535), float images are clipped
to [0, 1] (NaN becomes 0). The alpha channel is the mask when the image has one and it is not
constant; otherwise the luminance (Rec. 709 weights) of the colour channels is. White = remove.

Files are read when a frame's mask is asked for, with a cache of the last two, never all at once.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from rushes.errors import MatteError
from rushes.matte.base import Matte

__all__ = ["IMAGE_SUFFIXES", "ImageMatte", "open_matte_images", "read_mask_image"]

#: Files a folder given as ``--mask`` may hold as a sequence.
IMAGE_SUFFIXES = frozenset(
    {".png", ".tif", ".tiff", ".exr", ".jpg", ".jpeg", ".dpx", ".bmp", ".webp", ".tga"}
)
#: Rec. 709 luma weights, for masks stored as colour.
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
_PRINTF = re.compile(r"%0?(\d*)d")
_HASHES = re.compile(r"#+")
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d+)(?P<suffix>\.[A-Za-z0-9]+)$")
_CACHE = 2


def _image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image file from its header, MatteError if unreadable."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    if inp is not None:
        spec = inp.spec()
        inp.close()
        return int(spec.width), int(spec.height)
    oiio.geterror()  # clear it: OpenCV gets a try
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MatteError(f"mask {path}: cannot read it as an image (PNG, TIFF, EXR, JPEG ...)")
    return int(img.shape[1]), int(img.shape[0])


def _read_pixels(path: Path) -> tuple[np.ndarray, int]:
    """Pixels as float32 ``(H, W, C)`` normalised to [0, 1] and the alpha channel's index (-1)."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    if inp is not None:
        try:
            spec = inp.spec()
            pix = inp.read_image(0, 0, 0, spec.nchannels, "float")
            alpha = int(spec.alpha_channel)
            if alpha < 0 and spec.nchannels in (2, 4):
                alpha = spec.nchannels - 1
        finally:
            inp.close()
        if pix is None:
            raise MatteError(f"mask {path}: cannot decode the image ({oiio.geterror()})")
        arr = np.asarray(pix, dtype=np.float32)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return arr, alpha
    oiio.geterror()
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MatteError(f"mask {path}: cannot read it as an image (PNG, TIFF, EXR, JPEG ...)")
    if img.dtype == np.uint8:
        arr = img.astype(np.float32) / 255.0
    elif img.dtype == np.uint16:
        arr = img.astype(np.float32) / 65535.0
    else:
        arr = img.astype(np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] >= 3:  # OpenCV is BGR(A)
        arr = np.concatenate([arr[:, :, 2::-1], arr[:, :, 3:]], axis=2)
    return arr, (arr.shape[2] - 1 if arr.shape[2] in (2, 4) else -1)


def read_mask_image(path: str | Path) -> np.ndarray:
    """Read one mask image as float32 in [0, 1] (alpha if it varies, else luminance).

    Args:
        path: An image file OpenImageIO (or OpenCV) reads.

    Returns:
        The mask, white = remove. Shape: ``(H, W)``, float32 in [0, 1].

    Raises:
        MatteError: the file is missing or not an image.
    """
    path = Path(path)
    if not path.is_file():
        raise MatteError(f"mask {path}: no such file; give an existing mask image")
    arr, alpha = _read_pixels(path)
    arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
    if 0 <= alpha < arr.shape[2]:
        a = arr[:, :, alpha]
        if float(a.max()) - float(a.min()) > 1e-6:
            return np.clip(a, 0.0, 1.0).astype(np.float32, copy=False)
        colour = [c for c in range(arr.shape[2]) if c != alpha]
    else:
        colour = list(range(arr.shape[2]))
    m = arr[:, :, colour[:3]] @ _LUMA if len(colour) >= 3 else arr[:, :, colour[0]]
    return np.clip(m, 0.0, 1.0).astype(np.float32, copy=False)


class ImageMatte(Matte):
    """A matte read from mask files: one file for all frames, or one per frame.

    Args:
        files: Frame index -> file, or a single path used for every frame.
        width: Shot width in pixels.
        height: Shot height in pixels.
        frames: Number of frames of the shot.
        name: The spec the user gave (pattern or file), for messages.

    Raises:
        MatteError: a frame of the shot has no file, or the first file has the wrong size.
    """

    def __init__(
        self,
        files: Path | dict[int, Path],
        width: int,
        height: int,
        frames: int,
        name: str,
    ) -> None:
        self.width, self.height, self.frames, self.name = int(width), int(height), int(frames), name
        self._files = files
        self._cache: OrderedDict[Path, np.ndarray] = OrderedDict()
        first = files if isinstance(files, Path) else files.get(0)
        if first is not None and frames > 0:
            self._check_size(first, _image_size(first))

    def _check_size(self, path: Path, size: tuple[int, int]) -> None:
        if size != (self.width, self.height):
            raise MatteError(
                f"mask {path} is {size[0]}x{size[1]} but the shot is "
                f"{self.width}x{self.height}; give a mask of the shot's size"
            )

    def file(self, index: int) -> Path:
        """The file holding frame ``index``'s mask."""
        i = self.check_index(index)
        if isinstance(self._files, Path):
            return self._files
        return self._files[i]

    def describe(self, index: int) -> str:
        """The mask file of frame ``index``."""
        try:
            return f"mask {self.file(index)}"
        except (MatteError, KeyError):
            return f"mask {self.name}"

    def mask(self, index: int) -> np.ndarray:
        """Frame ``index``'s mask, read from its file (read-only; two files are cached).

        Shape:
            ``(height, width)``, float32 in [0, 1], white = remove.
        """
        path = self.file(index)
        hit = self._cache.get(path)
        if hit is not None:
            self._cache.move_to_end(path)
            return hit
        if not path.is_file():
            raise MatteError(
                f"mask {path} for frame {index} is missing; give one mask file per frame"
            )
        m = read_mask_image(path)
        self._check_size(path, (m.shape[1], m.shape[0]))
        m.setflags(write=False)
        self._cache[path] = m
        while len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return m


def _sequence_files(folder: Path, prefix: str, suffix: str) -> dict[int, Path]:
    try:
        names = os.listdir(folder)
    except OSError as e:
        raise MatteError(f"mask folder {folder}: cannot list it ({e.strerror})") from None
    rx = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$")
    found: dict[int, Path] = {}
    for n in sorted(names):
        m = rx.match(n)
        if m:
            found.setdefault(int(m[1]), folder / n)
    return found


def _folder_sequence(folder: Path) -> tuple[str, str, int]:
    """The one numbered image sequence in ``folder``: ``(prefix, suffix, padding)``."""
    groups: dict[tuple[str, str], list[str]] = {}
    for n in sorted(os.listdir(folder)):
        m = _NUMBERED.match(n)
        if m and m["suffix"].lower() in IMAGE_SUFFIXES:
            groups.setdefault((m["prefix"], m["suffix"]), []).append(m["digits"])
    if not groups:
        raise MatteError(
            f"mask folder {folder}: no numbered mask images in it; give a pattern like "
            f"{folder}/%04d.png"
        )
    if len(groups) > 1:
        names = ", ".join(f"{p}#{s}" for p, s in sorted(groups))
        raise MatteError(
            f"mask folder {folder} holds several sequences ({names}); give a pattern like "
            f"{folder}/name.%04d.png"
        )
    (prefix, suffix), digits = next(iter(groups.items()))
    pad = min(len(d) for d in digits) if any(d.startswith("0") for d in digits) else 0
    return prefix, suffix, pad


def open_matte_images(
    spec: str | Path,
    width: int,
    height: int,
    frames: int,
    clip_start: int = 0,
    clip_frames: int | None = None,
) -> ImageMatte:
    """Open a mask image or a sequence of them as the matte of a shot.

    Args:
        spec: One image (``mask.png``: the same matte on every frame), a sequence pattern
            (``mattes/%04d.png``, ``mattes/name.####.png``) or a folder holding one numbered
            sequence. Frame ``k`` of the shot is the file numbered ``first + k``; a sequence
            with one file per frame of the whole clip is read from the shot's own frames
            (``first + clip_start + k``).
        width: Shot width in pixels (the masks must have this size).
        height: Shot height in pixels.
        frames: Number of frames of the shot.
        clip_start: Where the shot starts in its clip (a clip holding several shots).
        clip_frames: Frames of the whole clip, when the shot is part of one.

    Returns:
        A lazy matte; nothing but the first file's header is read here.

    Raises:
        MatteError: the file or sequence does not exist, a frame of the shot has no file
            (naming the frame and the file), or the first file has the wrong size.

    Example:
        >>> matte = open_matte_images("mattes/%04d.png", 1920, 1080, 120)  # doctest: +SKIP
        >>> matte.mask(7).shape  # doctest: +SKIP
        (1080, 1920)
    """
    if frames <= 0:
        raise MatteError(f"mask {spec}: the shot has no frames")
    path = Path(spec)
    name = path.name
    m = _PRINTF.search(name) or _HASHES.search(name)
    if path.is_file():  # an existing file is one matte, even with # or % in its name
        return ImageMatte(path, width, height, frames, str(path))
    if m is None:
        if path.is_dir():
            prefix, suffix, pad = _folder_sequence(path)
            folder = path
        else:
            raise MatteError(f"mask {path}: no such file; give a mask image or a pattern")
    else:
        folder = path.parent
        prefix, suffix = name[: m.start()], name[m.end() :]
        pad = (int(m[1]) if m[1] else 0) if m.re is _PRINTF else len(m[0])
        if not folder.is_dir():
            raise MatteError(f"mask {spec}: folder {folder} does not exist")
    found = _sequence_files(folder, prefix, suffix)
    if not found:
        raise MatteError(f"mask {spec}: no files match this pattern in {folder}")
    first = min(found)
    if clip_frames is not None and clip_start > 0:
        if len(found) == clip_frames:  # mattes of the whole clip: take the shot's own
            first += clip_start
        elif len(found) > frames:
            raise MatteError(
                f"mask {spec}: the sequence holds {len(found)} files but the shot has {frames} "
                f"frames (clip frames {clip_start}-{clip_start + frames - 1} of {clip_frames}); "
                "give the shot's mattes, or one per frame of the whole clip"
            )
    files: dict[int, Path] = {}
    for k in range(frames):
        f = found.get(first + k)
        if f is None:
            expected = folder / f"{prefix}{first + k:0{pad}d}{suffix}"
            raise MatteError(
                f"mask {expected} for frame {k} is missing (the sequence starts at "
                f"{first}, has {len(found)} files, the shot {frames} frames); give one mask "
                "per frame"
            )
        files[k] = f
    return ImageMatte(files, width, height, frames, str(spec))
