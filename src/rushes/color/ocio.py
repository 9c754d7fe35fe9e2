"""Colour management on OpenColorIO's built-in ACES studio config.

The config is OCIO's own ``ocio://studio-config-latest`` (compiled into the library: no file, no
download, works air-gapped); :func:`config` loads it once. Every colour space, display and view
name used by rushes is a name (or alias) from that config; :func:`list_colorspaces` lists them.

- :data:`WORKING_SPACE` ``"ACEScg"``: scene-linear AP1, where grading maths and compositing
  happen. Values are never clamped (negative and > 1 values are kept).
- :data:`GRADING_SPACE` ``"ACEScct"``: the log encoding CDLs and LUTs are made for.
- :data:`DEFAULT_DISPLAY` / :data:`DEFAULT_VIEW`: the config's default display and view,
  ``"sRGB - Display"`` and ``"ACES 2.0 - SDR 100 nits (Rec.709)"``, for proxies and thumbnails.

Conversions use CPU processors cached per (source, destination) pair. By default they are built
with ``OPTIMIZATION_LOSSLESS`` (exact to float32 rounding); ``fast=True`` uses OCIO's default
optimisation (fast power approximations, relative error ~3e-5, 2-3x faster), fine for analysis
and proxies. :func:`to_display` always uses OCIO's default optimisation (it is for looking at)
and with ``fast=True`` a baked 65³ LUT.

Example:
    >>> import numpy as np
    >>> grey = np.full((2, 2, 3), 0.18, np.float32)
    >>> round(float(convert(grey, "ACEScg", "ACEScct")[0, 0, 0]), 4)
    0.4136
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
from collections.abc import Mapping

import numpy as np
import PyOpenColorIO as ocio

from rushes.color.lut import Lut3d
from rushes.errors import ColorError

__all__ = [
    "BUILTIN_CONFIG",
    "DEFAULT_DISPLAY",
    "DEFAULT_VIEW",
    "GRADING_SPACE",
    "RAW_SPACE",
    "STILL_SPACE",
    "VIDEO_SPACE",
    "WORKING_SPACE",
    "canonical_colorspace",
    "config",
    "convert",
    "from_working",
    "guess_colorspace",
    "is_scene_linear",
    "list_colorspaces",
    "list_displays",
    "list_views",
    "to_display",
    "to_working",
]

#: The OCIO built-in config rushes runs on.
BUILTIN_CONFIG = "ocio://studio-config-latest"
#: Scene-linear working space (AP1 primaries): grading and compositing.
WORKING_SPACE = "ACEScg"
#: Log grading space: CDLs and LUTs are estimated and applied here.
GRADING_SPACE = "ACEScct"
#: The config's default display and its default (SDR, Rec.709) view.
DEFAULT_DISPLAY = "sRGB - Display"
DEFAULT_VIEW = "ACES 2.0 - SDR 100 nits (Rec.709)"
#: Default guess for video without log metadata (see :func:`guess_colorspace`).
VIDEO_SPACE = "Gamma 2.4 Encoded Rec.709"
#: Default guess for integer still-image formats (JPEG, PNG, TIFF, ...).
STILL_SPACE = "sRGB Encoded Rec.709 (sRGB)"
#: Default guess for float images without chromaticities (the OpenEXR default primaries).
RAW_SPACE = "Linear Rec.709 (sRGB)"

_LOCK = threading.Lock()


@functools.cache
def config() -> ocio.Config:
    """The built-in ACES studio config (``ocio://studio-config-latest``), loaded once.

    Raises:
        ColorError: the installed OpenColorIO has no built-in studio config (needs OCIO 2.2+).
    """
    try:
        return ocio.Config.CreateFromFile(BUILTIN_CONFIG)
    except ocio.Exception as exc:  # pragma: no cover - depends on the installed OCIO
        raise ColorError(
            f"OpenColorIO {ocio.__version__} cannot load {BUILTIN_CONFIG} ({exc}); "
            "install OpenColorIO 2.2 or newer"
        ) from exc


def is_scene_linear(space: str) -> bool:
    """Whether OCIO encodes ``space`` as scene-linear (ACEScg, linear Rec.709); ``False`` for
    log, display and unknown names. Flow, inpainting and networks work on a non-linear one."""
    try:
        return str(config().getColorSpace(space).getEncoding()) == "scene-linear"
    except Exception:  # an unknown name: not a space OCIO can call linear
        return False


@functools.cache
def _names() -> dict[str, str]:
    """Every colour space name and alias, lower case -> canonical name."""
    table: dict[str, str] = {}
    cfg = config()
    for cs in cfg.getColorSpaces():
        name = cs.getName()
        table.setdefault(name.lower(), name)
        for alias in cs.getAliases():
            table.setdefault(alias.lower(), name)
    for role in cfg.getRoleNames():
        cs = cfg.getColorSpace(role)
        if cs is not None:
            table.setdefault(role.lower(), cs.getName())
    return table


def list_colorspaces() -> list[str]:
    """Canonical names of every colour space in the config (scene and display referred)."""
    return [cs.getName() for cs in config().getColorSpaces()]


def list_displays() -> list[str]:
    """Display names of the config (e.g. ``"sRGB - Display"``)."""
    return list(config().getDisplays())


def list_views(display: str = DEFAULT_DISPLAY) -> list[str]:
    """View names available on ``display``."""
    return list(config().getViews(_check_display(display)))


def _unknown(kind: str, name: str, choices: list[str], lister: str) -> ColorError:
    close = difflib.get_close_matches(name, choices, n=4, cutoff=0.5)
    if not close:  # try case-insensitively
        lower = {c.lower(): c for c in choices}
        close = [lower[c] for c in difflib.get_close_matches(name.lower(), list(lower), n=4)]
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return ColorError(f"unknown {kind} {name!r}; {hint}see rushes.color.ocio.{lister}()")


def canonical_colorspace(name: str) -> str:
    """The config's canonical name for a colour space name, alias or role (case-insensitive).

    Raises:
        ColorError: unknown name, listing close matches.
    """
    if not isinstance(name, str):
        raise ColorError(f"colour space must be a name (str), got {type(name).__name__}")
    found = _names().get(name.strip().lower())
    if found is None:
        raise _unknown("colour space", name, list_colorspaces(), "list_colorspaces")
    return found


def _match(name: str, choices: list[str]) -> str | None:
    """``name`` as spelled in ``choices`` (exact first, then case-insensitive), or None."""
    if name in choices:
        return name
    return {c.lower(): c for c in choices}.get(name.lower())


def _check_display(display: str) -> str:
    displays = list_displays()
    found = _match(display, displays)
    if found is None:
        raise _unknown("display", display, displays, "list_displays")
    return found


def _check_view(display: str, view: str) -> str:
    views = list(config().getViews(display))
    found = _match(view, views)
    if found is not None:
        return found
    close = difflib.get_close_matches(view, views, n=3, cutoff=0.3)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise ColorError(f"unknown view {view!r} for display {display!r}; {hint}its views are {views}")


@functools.lru_cache(maxsize=128)
def _processor(src: str, dst: str, fast: bool) -> ocio.CPUProcessor:
    opt = ocio.OPTIMIZATION_DEFAULT if fast else ocio.OPTIMIZATION_LOSSLESS
    with _LOCK:
        proc = config().getProcessor(src, dst)
        return proc.getOptimizedCPUProcessor(ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32, opt)


@functools.lru_cache(maxsize=64)
def _display_processor(src: str, display: str, view: str) -> ocio.CPUProcessor:
    with _LOCK:
        transform = ocio.DisplayViewTransform(src=src, display=display, view=view)
        proc = config().getProcessor(transform)
        return proc.getOptimizedCPUProcessor(
            ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32, ocio.OPTIMIZATION_DEFAULT
        )


def _rgb_copy(rgb: np.ndarray) -> np.ndarray:
    """A C-contiguous float32 copy of ``rgb`` (..., 3); ColorError for any other shape."""
    x = np.asarray(rgb)
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ColorError(f"colour conversion got shape {x.shape}; give RGB with a last axis of 3")
    return np.array(x, dtype=np.float32, order="C", copy=True)


def _run(cpu: ocio.CPUProcessor, rgb: np.ndarray) -> np.ndarray:
    """Apply a CPU processor to a float32 copy of ``rgb`` (..., 3)."""
    out = _rgb_copy(rgb)
    if out.size == 0:
        return out
    if out.ndim >= 3:
        width = out.shape[-2]
        height = out.size // (3 * width)
    else:
        width, height = out.size // 3, 1
    cpu.apply(ocio.PackedImageDesc(out, width, height, 3))
    return out


def convert(rgb: np.ndarray, src: str, dst: str, *, fast: bool = False) -> np.ndarray:
    """Convert RGB from one colour space of the config to another.

    Args:
        rgb: RGB values encoded in ``src`` (any range; scene-linear values are not clamped).
        src: source colour space name, alias or role (e.g. ``"ACEScg"``, ``"lin_ap1"``).
        dst: destination colour space name, alias or role.
        fast: use OCIO's default optimisation (~3e-5 relative error, 2-3x faster) instead of
            the lossless processor.

    Returns:
        float32 RGB encoded in ``dst``; a new array (the input is never modified).

    Shape:
        - rgb: ``(..., 3)``
        - output: same as ``rgb``

    Raises:
        ColorError: an unknown colour space (the message lists close matches) or ``rgb`` that
            does not end in an axis of 3.
    """
    s, d = canonical_colorspace(src), canonical_colorspace(dst)
    if s == d:
        return _rgb_copy(rgb)
    return _run(_processor(s, d, fast), rgb)


def to_working(rgb: np.ndarray, src: str, *, fast: bool = False) -> np.ndarray:
    """Convert RGB encoded in ``src`` to ACEScg scene-linear (never clamped).

    Args:
        rgb: RGB values encoded in ``src``.
        src: source colour space name, alias or role.
        fast: see :func:`convert`.

    Returns:
        float32 ACEScg scene-linear RGB (18 % grey = 0.18; no upper bound, may be negative).

    Shape:
        - rgb: ``(..., 3)``
        - output: same as ``rgb``
    """
    return convert(rgb, src, WORKING_SPACE, fast=fast)


def from_working(rgb: np.ndarray, dst: str, *, fast: bool = False) -> np.ndarray:
    """Convert ACEScg scene-linear RGB to ``dst``.

    Args:
        rgb: float ACEScg scene-linear RGB, any range.
        dst: destination colour space name, alias or role.
        fast: see :func:`convert`.

    Returns:
        float32 RGB encoded in ``dst`` (not clamped unless ``dst`` itself clamps).

    Shape:
        - rgb: ``(..., 3)``
        - output: same as ``rgb``
    """
    return convert(rgb, WORKING_SPACE, dst, fast=fast)


def to_display(
    rgb: np.ndarray,
    src: str,
    display: str = DEFAULT_DISPLAY,
    view: str = DEFAULT_VIEW,
    *,
    fast: bool = False,
) -> np.ndarray:
    """Render RGB for a display through the config's display/view transform (proxies, thumbnails).

    The default view is the ACES 2.0 SDR 100-nit output transform for Rec.709, encoded for an
    sRGB display. Use ``view="Un-tone-mapped"`` for a plain colorimetric encode.

    Args:
        rgb: RGB values encoded in ``src`` (scene-linear, log or display).
        src: source colour space name, alias or role.
        display: a display of the config (:func:`list_displays`).
        view: a view of that display (:func:`list_views`).
        fast: go through a 65³ tetrahedral LUT baked (once per display/view) over ACEScct
            [0, 1.5] instead of running the output transform per pixel: ~5x faster on a
            1080p frame (the exact ACES 2.0 transform costs ~0.85 s per 1080p frame on one
            core). Mean error ~1e-3 of display code value, up to ~0.05 on very saturated
            colours where ACES 2.0's gamut compression bends sharply; for proxies and
            thumbnails, not for deliverables.

    Returns:
        float32 display code values, in [0, 1] for SDR views.

    Shape:
        - rgb: ``(..., 3)``
        - output: same as ``rgb``

    Raises:
        ColorError: unknown colour space, display or view.
    """
    s = canonical_colorspace(src)
    disp = _check_display(display)
    v = _check_view(disp, view)
    if fast:
        lut = _display_lut(disp, v)
        return lut.apply(convert(rgb, s, GRADING_SPACE, fast=True))
    return _run(_display_processor(s, disp, v), rgb)


#: Lattice size and ACEScct domain of the LUTs behind ``to_display(fast=True)``. ACEScct 1.5
#: is ~9e4 scene-linear (beyond half-float range); 0 is just below scene-linear 0.
DISPLAY_LUT_SIZE = 65
DISPLAY_LUT_DOMAIN = (0.0, 1.5)


@functools.lru_cache(maxsize=16)
def _display_lut(display: str, view: str) -> Lut3d:
    cpu = _display_processor(GRADING_SPACE, display, view)
    lo, hi = DISPLAY_LUT_DOMAIN
    return Lut3d.from_function(
        lambda grid: _run(cpu, grid),
        size=DISPLAY_LUT_SIZE,
        domain_min=lo,
        domain_max=hi,
        title=f"{GRADING_SPACE} -> {display} / {view}",
    )


# --------------------------------------------------------------------------------------------
# Guessing the input colour space of a clip


def _rx(pattern: str) -> re.Pattern[str]:
    """A pattern not glued to other letters or digits (underscores count as separators)."""
    return re.compile(rf"(?<![a-z0-9]){pattern}(?![a-z0-9])")


_SLOG3_CINE = "S-Log3 S-Gamut3.Cine"

#: Camera encodings recognised in metadata text, first match wins (most specific first).
CAMERA_LOGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_rx(r"log[\s_-]*c[\s_-]*v?4"), "ARRI LogC4"),
    (_rx(r"log[\s_-]*c(?:[\s_-]*v?3)?"), "ARRI LogC3 (EI800)"),
    (_rx(r"s[\s_-]*log[\s_-]*3[\s_.-]*(?:s[\s_-]*gamut[\s_-]*3)?[\s_.-]*cine"), _SLOG3_CINE),
    (_rx(r"s[\s_-]*gamut[\s_-]*3[\s_.-]*cine"), _SLOG3_CINE),
    (_rx(r"s[\s_-]*log[\s_-]*3"), "S-Log3 S-Gamut3"),
    (_rx(r"v[\s_-]*log"), "V-Log V-Gamut"),
    (_rx(r"(?:red[\s_-]*)?log[\s_-]*3[\s_-]*g[\s_-]*10"), "Log3G10 REDWideGamutRGB"),
    (_rx(r"apple[\s_-]*log[\s_-]*2"), "Apple Log 2"),
    (_rx(r"apple[\s_-]*log"), "Apple Log"),
    (_rx(r"(?:canon[\s_-]*|c[\s_-]*)log[\s_-]*3"), "CanonLog3 CinemaGamut D55"),
    (_rx(r"(?:canon[\s_-]*|c[\s_-]*)log[\s_-]*2"), "CanonLog2 CinemaGamut D55"),
    (_rx(r"d[\s_-]*log"), "D-Log D-Gamut"),
    (
        _rx(r"(?:bmd|blackmagic)[\s_-]*film(?:[\s_-]*(?:wide[\s_-]*gamut[\s_-]*)?gen[\s_-]*5)?"),
        "BMDFilm WideGamut Gen5",
    ),
    (_rx(r"davinci[\s_-]*intermediate"), "DaVinci Intermediate WideGamut"),
    (_rx(r"aces[\s_-]*cct"), "ACEScct"),
)

#: A camera's usual log encoding, for a bare "log" transfer tag with a known camera make.
MAKER_LOGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_rx(r"arri|alexa"), "ARRI LogC3 (EI800)"),
    (_rx(r"sony|venice|fx[369]|fx30"), "S-Log3 S-Gamut3.Cine"),
    (_rx(r"panasonic|lumix|varicam"), "V-Log V-Gamut"),
    (_rx(r"red|komodo|v-raptor|dsmc\d?"), "Log3G10 REDWideGamutRGB"),
    (_rx(r"canon"), "CanonLog3 CinemaGamut D55"),
    (_rx(r"apple|iphone"), "Apple Log"),
    (_rx(r"blackmagic|bmd|ursa|bmpcc"), "BMDFilm WideGamut Gen5"),
    (_rx(r"dji"), "D-Log D-Gamut"),
)

_TRANSFER_KEYS = re.compile(r"trc|transfer|gamma|curve|eotf|oetf")
_NAME_KEYS = re.compile(r"(?:^|[:_])(?:color_?space|colou?r_?space|ocio[:_]?color_?space)$")
_HLG = {"arib-std-b67", "arib_std_b67", "hlg"}
_PQ = {"smpte2084", "smpte-st-2084", "st2084", "pq"}
_GENERIC_LOG = {"log", "log100", "log316", "log_sqrt", "logarithmic", "printing density"}
_FLOAT_FORMATS = {"half", "float", "double"}
_STILL_CODECS = {
    *("png", "jpeg", "jpg", "tiff", "tif", "bmp", "targa", "tga", "webp", "gif", "jpeg2000"),
}

#: Chromaticities (xy of R, G, B, white) of float image primaries -> linear colour space.
_PRIMARIES: tuple[tuple[tuple[float, ...], str], ...] = (
    ((0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767), "ACES2065-1"),
    ((0.713, 0.293, 0.165, 0.83, 0.128, 0.044, 0.32168, 0.33767), "ACEScg"),
    ((0.64, 0.33, 0.3, 0.6, 0.15, 0.06, 0.3127, 0.329), "Linear Rec.709 (sRGB)"),
    ((0.708, 0.292, 0.17, 0.797, 0.131, 0.046, 0.3127, 0.329), "Linear Rec.2020"),
    ((0.68, 0.32, 0.265, 0.69, 0.15, 0.06, 0.3127, 0.329), "Linear P3-D65"),
)


def _is_float(codec: str, pix_fmt: str, bit_depth: int) -> bool:
    fmt = pix_fmt.lower()
    if fmt in _FLOAT_FORMATS or re.search(r"f(16|32|64)(le|be)?$", fmt):
        return True
    return codec.lower() in {"openexr", "exr"} and bit_depth >= 16


def _from_chromaticities(value: str) -> str | None:
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d*)?(?:e-?\d+)?", value)]
    if len(nums) != 8:
        return None
    for ref, name in _PRIMARIES:
        if max(abs(a - b) for a, b in zip(nums, ref, strict=True)) < 2e-3:
            return name
    return None


def guess_colorspace(
    codec: str,
    pix_fmt: str,
    bit_depth: int,
    metadata: Mapping[str, str],
    kind: str,
) -> str:
    """Guess the OCIO input colour space of a clip from its probe (codec, format, metadata).

    A guess, to be confirmed or overridden (``rushes.toml`` or the CLI). Rules, first match wins:

    1. **Explicit name**: a metadata key named like ``colorspace`` / ``oiio:ColorSpace`` /
       ``ocio:colorspace`` whose value is a colour space of the config (name or alias, e.g.
       OIIO's ``srgb_rec709_scene``) -> that space. Skipped for float images, where OIIO's
       value is a default rather than a statement of the file.
    2. **Float images** (half/float samples, e.g. EXR): ``acesImageContainerFlag`` = 1 ->
       ``"ACES2065-1"`` (SMPTE ST 2065-4); else a ``chromaticities`` attribute matching AP0 ->
       ``"ACES2065-1"``, AP1 -> ``"ACEScg"``, Rec.709 -> ``"Linear Rec.709 (sRGB)"``, Rec.2020
       or P3-D65 -> their linear spaces; else ``"Linear Rec.709 (sRGB)"``, the primaries the
       OpenEXR standard assumes when the attribute is absent (ACEScg plates written without
       chromaticities must be overridden).
    3. **Camera log** named anywhere in the metadata keys or values (ARRI LogC3/LogC4, S-Log3
       S-Gamut3/.Cine, V-Log, RED Log3G10, Apple Log/Log 2, Canon Log 2/3, D-Log, BMD Film Gen5,
       DaVinci Intermediate, ACEScct). A bare ``log`` transfer tag (key containing trc, transfer,
       gamma or curve) picks the camera maker's usual log when the maker is in the metadata.
    4. **HDR transfer tags**: ``arib-std-b67`` / ``hlg`` -> ``"Rec.2100-HLG - Display"``;
       ``smpte2084`` / ``pq`` -> ``"Rec.2100-PQ - Display"`` (display-referred: to_working goes
       through the inverse of the config's default view).
    5. **Film scans**: Cineon, or DPX whose ``dpx:Transfer`` is printing density or
       logarithmic -> ``"ADX10"``; DPX tagged linear -> ``"Linear Rec.709 (sRGB)"``.
    6. **Integer still-image formats** (JPEG, PNG, TIFF, BMP, TGA, WebP), single or numbered:
       ``"sRGB Encoded Rec.709 (sRGB)"`` (the sRGB piecewise curve these files are made with).
    7. **Everything else** (H.264/H.265 at any bit depth, 10/12-bit ProRes and DNx without log
       metadata, integer DPX): ``"Gamma 2.4 Encoded Rec.709"``. Rec.709 video is mastered on
       and watched through a BT.1886 display, a pure 2.4 power with black at 0, so inverting
       that EOTF yields the light the picture was approved in. It is a scene-referred space in
       the config (no inverse tone-mapping through a view, unlike ``"Rec.1886 Rec.709 -
       Display"``), and a pure power: ``from_working(to_working(x))`` returns ``x`` for every
       value, including above 1. (The camera OETF, ``"Camera Rec.709"``, would suit video
       straight out of a camera in Rec.709 mode; override to it where that is known.)

    Args:
        codec: codec or image format from the probe (``"prores"``, ``"h264"``, ``"openexr"``).
        pix_fmt: FFmpeg pixel format or OIIO sample type (``"yuv422p10le"``, ``"half"``).
        bit_depth: bits per component (8, 10, 12, 16, 32).
        metadata: container/stream/image metadata, verbatim strings.
        kind: ``"movie"``, ``"sequence"`` or ``"still"``.

    Returns:
        A canonical colour space name of the config.
    """
    codec_l = (codec or "").lower()
    meta = {str(k).lower(): str(v).strip() for k, v in (metadata or {}).items()}
    is_float = _is_float(codec_l, pix_fmt or "", int(bit_depth or 0))

    # 1. explicit colour space names
    if not is_float:
        for key, value in meta.items():
            if _NAME_KEYS.search(key):
                found = _names().get(value.lower())
                if found is not None:
                    return found

    # 2. float images
    if is_float:
        if meta.get("acesimagecontainerflag", "") in {"1", "true"}:
            return "ACES2065-1"
        chroma = meta.get("chromaticities")
        if chroma:
            found = _from_chromaticities(chroma)
            if found is not None:
                return found
        return RAW_SPACE

    # 3. camera log named in the metadata
    text = " ".join(f"{k} {v}" for k, v in meta.items()).lower()
    for pattern, name in CAMERA_LOGS:
        if pattern.search(text):
            return name
    transfer = {v.lower() for k, v in meta.items() if _TRANSFER_KEYS.search(k)}
    if transfer & _GENERIC_LOG and codec_l not in {"dpx", "cineon"}:
        for pattern, name in MAKER_LOGS:
            if pattern.search(text):
                return name

    # 4. HDR transfer tags
    values = {v.lower() for v in meta.values()}
    if values & {"arib-std-b67", "arib_std_b67"} or transfer & _HLG:
        return "Rec.2100-HLG - Display"
    if values & {"smpte2084", "smpte-st-2084"} or transfer & _PQ:
        return "Rec.2100-PQ - Display"

    # 5. film scans
    if codec_l == "cineon":
        return "ADX10"
    if codec_l == "dpx":
        dpx_transfer = meta.get("dpx:transfer", "").lower()
        if "printing density" in dpx_transfer or "logarithmic" in dpx_transfer:
            return "ADX10"
        if dpx_transfer == "linear":
            return RAW_SPACE
        return VIDEO_SPACE

    # 6. still-image formats, 7. video
    if codec_l in _STILL_CODECS or (kind == "still" and codec_l not in {"", "unknown"}):
        return STILL_SPACE
    return VIDEO_SPACE
