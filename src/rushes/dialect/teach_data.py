"""Before/after examples for ``rushes teach``: reading them, checking them, cutting crops.

An example source is a numbered sequence (``ex/before/%04d.png``, ``ex/before/####.png`` or one
member of it), a folder of images (taken in name order) or one image. Movies are not examples:
export the frames. The ``k``-th before frame pairs with the ``k``-th after frame.

Pixels are used as they are read, in the encoding the network will work in: the shot's own
encoding for display or log clips (export examples from the clip as PNG, TIFF or DPX), ACEScct
for scene-linear clips. Values outside [0, 1] are clipped (and a warning says so). For a matte
effect the after images are mattes: their mean over R, G, B, in [0, 1] (a grey or black and
white PNG); an alpha channel is not read.

Examples are held in memory as float16 (about 12 MB a 1080p frame), so an effect is taught
from at most :data:`MAX_PAIRS` pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from rushes.errors import MediaError, TeachError
from rushes.media import IMAGE_EXTENSIONS, open_media
from rushes.media.sequence import spec_from_pattern

MAX_PAIRS = 64
"""Most example pairs one effect is taught from."""

MIN_SIDE = 32
"""Smallest example side, pixels."""

CHANGE_EPS = 2.0 / 255.0
"""A pixel whose before and after differ by more than this (any channel) is changed."""

MATTE_EPS = 0.05
"""A matte pixel above this counts as inside the matte when crops are placed."""

MAX_CHANGED_SAMPLES = 20000
"""Changed-pixel positions kept per pair to place crops on."""

_DIGITS = re.compile(r"(\d+)")


@dataclass
class Pair:
    """One before/after example, in memory.

    Attributes:
        before_path, after_path: the files read.
        before: float16 ``(H, W, 3)`` in [0, 1], the shot's working encoding.
        after: float16 ``(H, W, 3)`` (RGB effects) or ``(H, W)`` (matte effects) in [0, 1].
        changed: int32 ``(K, 2)`` ``(y, x)`` positions where the pair changes (crops are
            placed over them), at most :data:`MAX_CHANGED_SAMPLES`.
        clipped: values outside [0, 1] were read (and clipped).
    """

    before_path: Path
    after_path: Path
    before: np.ndarray
    after: np.ndarray
    changed: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))
    clipped: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return int(self.before.shape[1]), int(self.before.shape[0])


def _natural(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in _DIGITS.split(path.name)]


def example_files(source: str | Path, role: str = "examples") -> list[Path]:
    """The image files of an example source, in order.

    Args:
        source: a sequence pattern (``%04d``, ``####``), a folder of images, or one image.
        role: ``"--before"`` or ``"--after"``, named in errors.

    Raises:
        TeachError: nothing there, a movie, or a folder without images.
    """
    path = Path(source)
    if "%" in path.name or "#" in path.name:
        try:
            spec = spec_from_pattern(path)
        except MediaError as e:
            raise TeachError(f"{role} {path}: {_tail(e, path)}; check the pattern") from None
        files = [spec.file(n) for n in spec.numbers]
    elif path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS),
            key=_natural,
        )
        if not files:
            raise TeachError(
                f"{role} {path}: the folder holds no images (EXR, DPX, TIFF, PNG, JPEG)"
            )
    elif path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise TeachError(
                f"{role} {path}: not an image; give images (a pattern like ex/before/%04d.png, "
                "a folder or one image), exported from the shot"
            )
        files = [path]
    else:
        raise TeachError(f"{role} {path}: no such file or folder; check the path")
    return files


def _tail(e: Exception, path: Path) -> str:
    text = str(e)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def read_image(path: Path) -> np.ndarray:
    """One example image as float32 ``(H, W, 3)``, values as stored (integer files in [0, 1]).

    Raises:
        TeachError: missing, unreadable or corrupt, or holding NaN or infinite values.
    """
    try:
        with open_media(path) as reader:
            img = reader.read(0)
    except (MediaError, IndexError) as e:
        raise TeachError(f"example {path}: cannot be read ({_tail(e, path)})") from None
    if not np.isfinite(img).all():
        raise TeachError(f"example {path}: holds NaN or infinite values; export it again")
    return img


def _changed_positions(change: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.nonzero(change)
    pos = np.stack([ys, xs], 1).astype(np.int32)
    if len(pos) > MAX_CHANGED_SAMPLES:
        pos = pos[rng.choice(len(pos), MAX_CHANGED_SAMPLES, replace=False)]
    return pos


def read_pairs(
    before: str | Path,
    after: str | Path,
    output: str = "rgb",
    size: tuple[int, int] | None = None,
    seed: int = 0,
) -> list[Pair]:
    """Read and check the example pairs.

    Args:
        before: example source of the frames as shot (see :func:`example_files`).
        after: example source of the same frames as the artist fixed them (or their mattes).
        output: ``"rgb"`` or ``"matte"``.
        size: ``(width, height)`` every example must have (the shot's), or ``None``.
        seed: seeds the subsampling of changed positions.

    Raises:
        TeachError: counts differ, sizes differ (within a pair, between pairs, or from
            ``size``), too many or too small examples, unreadable files. Messages name the file
            and both sizes.
    """
    bfiles, afiles = example_files(before, "--before"), example_files(after, "--after")
    if len(bfiles) != len(afiles):
        raise TeachError(
            f"{len(bfiles)} before frame(s) ({bfiles[0].parent}) but {len(afiles)} after "
            f"frame(s) ({afiles[0].parent}); give one after frame for each before frame"
        )
    if len(bfiles) > MAX_PAIRS:
        raise TeachError(
            f"{len(bfiles)} example pairs given; an effect is taught from a few (at most "
            f"{MAX_PAIRS}): pick the most varied frames"
        )
    rng = np.random.default_rng(seed)
    pairs: list[Pair] = []
    first: tuple[int, int] | None = None
    for bf, af in zip(bfiles, afiles, strict=True):
        b = read_image(bf)
        a = read_image(af)
        bw, bh = b.shape[1], b.shape[0]
        aw, ah = a.shape[1], a.shape[0]
        if (aw, ah) != (bw, bh):
            raise TeachError(
                f"{af} is {aw}x{ah} but its before frame {bf.name} is {bw}x{bh}; "
                "give the after frame at the size of the before frame"
            )
        if size is not None and (bw, bh) != tuple(size):
            raise TeachError(
                f"{bf} is {bw}x{bh} but the shot is {size[0]}x{size[1]}; "
                "export the examples from the shot at its full size"
            )
        if first is not None and (bw, bh) != first:
            raise TeachError(
                f"{bf} is {bw}x{bh} but {bfiles[0].name} is {first[0]}x{first[1]}; "
                "every example of one effect must have the same size"
            )
        if min(bw, bh) < MIN_SIDE:
            raise TeachError(f"{bf} is {bw}x{bh}; examples need at least {MIN_SIDE} px a side")
        first = (bw, bh)
        clipped = bool(b.min() < 0.0 or b.max() > 1.0 or a.min() < 0.0 or a.max() > 1.0)
        b = np.clip(b, 0.0, 1.0)
        a = np.clip(a, 0.0, 1.0)
        if output == "matte":
            a = a.mean(axis=2)
            change = a > MATTE_EPS
        else:
            change = np.abs(a - b).max(axis=2) > CHANGE_EPS
        pairs.append(
            Pair(
                before_path=bf,
                after_path=af,
                before=b.astype(np.float16),
                after=a.astype(np.float16),
                changed=_changed_positions(change, rng),
                clipped=clipped,
            )
        )
    return pairs


# --------------------------------------------------------------------------------------------
# warnings about the examples


SIMILAR_MAD = 0.01
"""Before frames whose mean absolute difference (at 128 px) is below this are the same view."""

MIN_PAIRS = 3
"""Fewer pairs than this draw a warning."""

MIN_CHANGED_SHARE = 2e-5
"""RGB pairs changing less than this share of their pixels teach (almost) nothing."""


def _thumb(img: np.ndarray, long_side: int = 128) -> np.ndarray:
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(
        cv2.resize(img.astype(np.float32), size, interpolation=cv2.INTER_AREA), np.float32
    )


def distinct_count(pairs: list[Pair]) -> int:
    """Number of visibly different before frames (greedy grouping by mean absolute
    difference of 128-px thumbnails below :data:`SIMILAR_MAD`)."""
    reps: list[np.ndarray] = []
    for p in pairs:
        t = _thumb(p.before)
        if not any(float(np.abs(t - r).mean()) < SIMILAR_MAD for r in reps):
            reps.append(t)
    return len(reps)


def example_warnings(pairs: list[Pair], output: str) -> list[str]:
    """What may keep the examples from generalizing: too few, too similar, too little change,
    clipped values. One line each."""
    out: list[str] = []
    n = len(pairs)
    if n < MIN_PAIRS:
        out.append(
            f"only {n} example pair{'s' if n != 1 else ''}: an effect taught from fewer than "
            f"{MIN_PAIRS} may not generalize to the rest of the shot; add frames from other "
            "moments of it"
        )
    if n > 1:
        k = distinct_count(pairs)
        if k < n and k < MIN_PAIRS:
            out.append(
                f"the {n} before frames show only {k} distinct view{'s' if k != 1 else ''} "
                "(nearly identical frames): the effect may not generalize; pick frames from "
                "different moments of the shot"
            )
    if output == "matte":
        cover = [float((p.after.astype(np.float32) > 0.5).mean()) for p in pairs]
        if max(cover) == 0.0:
            out.append("every example matte is empty: there is nothing to learn")
        elif min(cover) == 1.0:
            out.append("every example matte covers the whole frame: there is nothing to learn")
    else:
        total = sum(p.before.shape[0] * p.before.shape[1] for p in pairs)
        share = sum(len(p.changed) for p in pairs) / max(total, 1)
        mad = float(np.mean([np.abs(p.after.astype(np.float32) - p.before).mean() for p in pairs]))
        if share < MIN_CHANGED_SHARE:
            out.append(
                f"the after frames barely differ from the before frames ({100 * share:.4f}% of "
                f"pixels changed by more than 2/255, mean difference {mad * 255:.2f}/255): "
                "the change is too small to learn"
            )
    if any(p.clipped for p in pairs):
        out.append(
            "some examples hold values outside [0, 1] (scene-linear?); they were clipped: "
            "export examples in the clip's own display or log encoding"
        )
    return out


# --------------------------------------------------------------------------------------------
# crops


def crop_size(pairs: list[Pair], crop: int, multiple: int = 8) -> tuple[int, int]:
    """``(height, width)`` of the crops: ``crop`` or the examples' size when smaller, rounded
    down to ``multiple``."""
    w, h = pairs[0].size
    ch = max(multiple, min(crop, h) // multiple * multiple)
    cw = max(multiple, min(crop, w) // multiple * multiple)
    return ch, cw


def sample_batch(
    pairs: list[Pair],
    rng: np.random.Generator,
    batch: int,
    size: tuple[int, int],
    on_change: float = 0.75,
) -> tuple[np.ndarray, np.ndarray]:
    """Random training crops: a share ``on_change`` placed over changed pixels (anywhere in the
    crop), the rest anywhere (so the network learns to leave clean areas alone); each flipped
    at random left-right and up-down.

    Returns:
        ``(before, after)``: float32 ``(N, h, w, 3)`` and ``(N, h, w, 3)`` (RGB effects) or
        ``(N, h, w)`` (mattes), in [0, 1].
    """
    ch, cw = size
    xs, ys = [], []
    for _ in range(batch):
        p = pairs[int(rng.integers(len(pairs)))]
        h, w = p.before.shape[:2]
        if len(p.changed) and rng.random() < on_change:
            cy, cx = p.changed[int(rng.integers(len(p.changed)))]
            y0 = int(cy) - int(rng.integers(ch))
            x0 = int(cx) - int(rng.integers(cw))
        else:
            y0 = int(rng.integers(h - ch + 1))
            x0 = int(rng.integers(w - cw + 1))
        y0 = min(max(y0, 0), h - ch)
        x0 = min(max(x0, 0), w - cw)
        b = p.before[y0 : y0 + ch, x0 : x0 + cw]
        a = p.after[y0 : y0 + ch, x0 : x0 + cw]
        if rng.random() < 0.5:
            b, a = b[:, ::-1], a[:, ::-1]
        if rng.random() < 0.5:
            b, a = b[::-1], a[::-1]
        xs.append(b)
        ys.append(a)
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)


# --------------------------------------------------------------------------------------------
# taught effects on disk (no torch needed: the operation plans with these)

TAUGHT = "taught"
TAUGHT_CARD = "card.json"
TAUGHT_WEIGHTS = "weights.safetensors"
TAUGHT_FORMAT = "rushes.taught.1"
OUTPUTS = ("rgb", "matte")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def check_name(name: str) -> str:
    """``name`` if it is a valid effect name (letters, digits, ``-`` and ``_``, at most 64,
    not starting with ``-`` or ``_``).

    Raises:
        TeachError: anything else.
    """
    if not NAME_RE.match(name or ""):
        raise TeachError(
            f"effect name {name!r} is not allowed; use letters, digits, - and _ (up to 64, "
            "starting with a letter or digit), e.g. remove-rig_A"
        )
    return name


def taught_root(models: Path) -> Path:
    """``models/taught/`` inside a project's ``models/`` folder."""
    return Path(models) / TAUGHT


def list_taught(models: Path) -> list[str]:
    """Names of the complete taught effects, sorted."""
    root = taught_root(models)
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and NAME_RE.match(p.name) and (p / TAUGHT_CARD).is_file()
    )


def taught_dir(models: Path, name: str) -> Path:
    """Folder of the taught effect ``name``.

    Raises:
        TeachError: a bad name, or no such effect.
    """
    folder = taught_root(models) / check_name(name)
    if not (folder / TAUGHT_CARD).is_file():
        known = ", ".join(list_taught(models)) or "none"
        raise TeachError(
            f"no taught effect '{name}' (known: {known}); teach it first with "
            f"'rushes teach {name} --before ... --after ...'"
        )
    return folder
