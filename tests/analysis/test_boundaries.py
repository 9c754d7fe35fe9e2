"""Tests for rushes.analysis.boundaries (shot boundaries: cuts, dissolves, fades and dips)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from rushes.analysis import boundaries
from rushes.analysis.boundaries import (
    KINDS,
    Boundary,
    BoundaryDetector,
    detect_boundaries,
    make_detector,
)
from rushes.analysis.boundaries_blend import (
    BlendDetector,
    blend_fit,
    hist_distance,
    hsv_histogram,
    structure_correlation,
)

H, W = 90, 160  # analysis size of the synthetic clips (the detector must not assume one)
REPO = Path(__file__).resolve().parents[2]


def footage_root() -> Path:
    env = os.environ.get("RUSHES_FOOTAGE")
    return Path(env) if env else REPO.parent / "shared" / "footage"


# --------------------------------------------------------------------------------------------
# synthetic footage


def texture(seed: int, h: int = H, w: int = W) -> np.ndarray:
    """A random textured RGB image in [0, 1] with its own colour cast.

    Shape:
        -> (h, w, 3) float32
    """
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for scale, weight in ((3, 0.25), (9, 0.35), (27, 0.4)):
        small = rng.random((max(2, h // scale), max(2, w // scale), 3)).astype(np.float32)
        img += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    tint = rng.uniform(0.4, 1.0, 3).astype(np.float32)
    gamma = float(rng.uniform(0.6, 1.6))
    return np.clip(img, 0, 1) ** gamma * tint


def pan(seed: int, n: int, speed: float = 2.0, h: int = H, w: int = W) -> list[np.ndarray]:
    """``n`` frames panning over one texture at ``speed`` px per frame, with sensor noise."""
    canvas = texture(seed, h, w + int(abs(speed) * n) + 2)
    rng = np.random.default_rng(seed + 1000)
    out = []
    for i in range(n):
        x = i * abs(speed)
        x0 = int(x)
        frac = np.float32(x - x0)
        f = (1 - frac) * canvas[:, x0 : x0 + w] + frac * canvas[:, x0 + 1 : x0 + 1 + w]
        noise = rng.normal(0, 0.01, f.shape).astype(np.float32)
        out.append(np.clip(f + noise, 0, 1).astype(np.float32))
    return out


def dissolve(
    a: list[np.ndarray], b: list[np.ndarray], n: int, linear_light: bool = False
) -> list[np.ndarray]:
    """Cross-fade the last ``n`` frames of ``a`` with the first ``n`` of ``b``.

    The mix is linear in code values, or in linear light (``x ** 2.2``) when asked.
    """
    g = 2.2 if linear_light else 1.0
    mix = [
        ((1 - (j + 1) / (n + 1)) * a[len(a) - n + j] ** g + (j + 1) / (n + 1) * b[j] ** g)
        ** (1 / g)
        for j in range(n)
    ]
    return [*a[:-n], *mix, *b[n:]]


def fade_through_black(a: list[np.ndarray], b: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Fade the last ``n`` frames of ``a`` to black and the first ``n`` of ``b`` up from it."""
    out = [(1 - (j + 1) / n) * a[len(a) - n + j] for j in range(n)]
    inn = [(j / n) * b[j] for j in range(n)]
    return [*a[:-n], *out, *inn, *b[n:]]


def dip_to_colour(
    a: list[np.ndarray],
    b: list[np.ndarray],
    colour: tuple[float, float, float],
    ramp: int = 4,
    hold: int = 2,
) -> list[np.ndarray]:
    """Mix the last ``ramp`` frames of ``a`` up to a flat colour, hold it ``hold`` frames and
    mix the first ``ramp`` of ``b`` down from it (linear in code values); ``ramp=0`` cuts."""
    c = np.empty_like(a[0])
    c[...] = np.asarray(colour, np.float32)
    w = [(j + 1) / (ramp + 1) for j in range(ramp)]
    up = [(1 - x) * f + x * c for x, f in zip(w, a[len(a) - ramp :], strict=True)]
    down = [x * f + (1 - x) * c for x, f in zip(w, b[:ramp], strict=True)]
    return [*a[: len(a) - ramp], *up, *[c] * hold, *down, *b[ramp:]]


def detect(frames: list[np.ndarray], **options: object) -> list[Boundary]:
    return detect_boundaries(enumerate(frames), fps=24.0, **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# boundaries on synthetic clips


def test_cut() -> None:
    frames = pan(1, 30) + pan(2, 30)
    found = detect(frames)
    assert [(b.frame, b.kind) for b in found] == [(30, "cut")]
    b = found[0]
    assert b.start == b.end == b.frame
    assert 0.5 < b.score <= 1.0


def test_cut_between_shots_of_one_palette() -> None:
    # the same colours in another layout (the histograms are identical)
    frames = pan(26, 30) + [np.ascontiguousarray(f[::-1, ::-1]) for f in pan(26, 30)]
    assert [(b.frame, b.kind) for b in detect(frames)] == [(30, "cut")]


def test_cut_between_flat_views_and_none_within() -> None:
    # low-contrast views (a grey wall, fog): sensor noise must not make every frame a change
    rng = np.random.default_rng(27)

    def flat(level: float, n: int) -> list[np.ndarray]:
        noise = rng.normal(0, 0.01, (n, H, W, 3)).astype(np.float32)
        return list(np.clip(np.float32(level) + noise, 0, 1))

    assert detect(flat(0.5, 60)) == []
    assert [(b.frame, b.kind) for b in detect(flat(0.5, 30) + flat(0.3, 30))] == [(30, "cut")]


@pytest.mark.parametrize("linear_light", [False, True])
def test_dissolve(linear_light: bool) -> None:
    frames = dissolve(pan(3, 40), pan(4, 40), 12, linear_light)  # mix frames 28..39, centre 34
    found = detect(frames)
    assert [b.kind for b in found] == ["dissolve"]
    b = found[0]
    assert abs(b.frame - 34) <= 1
    assert b.start <= 30 and b.end >= 38
    assert 0.0 < b.score <= 1.0


def test_fade_through_black_is_one_boundary() -> None:
    frames = fade_through_black(pan(5, 40), pan(6, 40), 8)  # black at 39 and 40
    found = detect(frames)
    assert [b.kind for b in found] == ["fade"]
    b = found[0]
    assert abs(b.frame - 40) <= 1
    assert b.start <= 34 and b.end >= 45


def test_dip_to_black_with_hard_cuts_is_one_fade() -> None:
    black = np.zeros((H, W, 3), np.float32)
    frames = pan(21, 30) + [black] * 3 + pan(22, 30)  # black at 30..32
    found = detect(frames)
    assert [(b.frame, b.kind) for b in found] == [(31, "fade")]


def test_dip_to_white_is_one_fade() -> None:
    # 4 frames up to white (36..39), white at 40 and 41, 4 frames down (42..45)
    frames = dip_to_colour(pan(31, 40), pan(32, 40), (1.0, 1.0, 1.0))
    found = detect(frames)
    assert [b.kind for b in found] == ["fade"]
    b = found[0]
    assert abs(b.frame - 41) <= 1
    assert b.start <= 37 and b.end >= 44


@pytest.mark.parametrize(
    "colour", [(1.0, 1.0, 1.0), (0.5, 0.5, 0.5), (0.8, 0.1, 0.1), (0.95, 0.9, 0.7)]
)
def test_dip_to_a_flat_colour_with_hard_cuts_is_one_fade(
    colour: tuple[float, float, float],
) -> None:
    frames = dip_to_colour(pan(33, 30), pan(34, 30), colour, ramp=0, hold=3)  # flat 30..32
    assert [(b.frame, b.kind) for b in detect(frames)] == [(31, "fade")]


def test_white_flash_frame_between_shots_is_a_fade() -> None:
    frames = dip_to_colour(pan(35, 30), pan(36, 30), (1.0, 1.0, 1.0), ramp=0, hold=1)
    assert [(b.frame, b.kind) for b in detect(frames)] == [(30, "fade")]


@pytest.mark.parametrize(("speed", "level"), [(0.5, 1.0), (2.0, 1.0), (6.0, 1.0), (2.0, 0.9)])
def test_photo_flash_within_a_shot_is_not_a_boundary(speed: float, level: float) -> None:
    # one frame of a panning shot burnt out to a flat bright frame: the same shot either side
    frames = pan(37, 80, speed=speed)
    frames[40] = np.full_like(frames[40], level)
    assert detect(frames) == []


def test_flat_view_longer_than_flat_frames_is_a_shot_not_a_dip() -> None:
    # 40 frames of fog between two shots: two cuts, not a dip to grey
    rng = np.random.default_rng(38)
    fog = list(np.clip(0.7 + rng.normal(0, 0.01, (40, H, W, 3)), 0, 1).astype(np.float32))
    frames = pan(39, 30) + fog + pan(40, 30)
    assert [(b.frame, b.kind) for b in detect(frames)] == [(30, "cut"), (70, "cut")]
    # shorter than flat_frames (24 at 24 fps): a dip to grey
    assert [b.kind for b in detect(pan(39, 30) + fog[:10] + pan(40, 30))] == ["fade"]


def test_fade_in_at_start_and_out_at_end_are_not_boundaries() -> None:
    shot = pan(7, 60)
    frames = [(j / 8) * f for j, f in enumerate(shot[:8])] + shot[8:52]
    frames += [(1 - (j + 1) / 8) * f for j, f in enumerate(shot[52:])]
    assert detect(frames) == []
    # the same from and to white
    white = np.ones_like(shot[0])
    frames = [(j / 8) * f + (1 - j / 8) * white for j, f in enumerate(shot[:8])] + shot[8:52]
    frames += [(1 - (j + 1) / 8) * f + (j + 1) / 8 * white for j, f in enumerate(shot[52:])]
    assert detect(frames) == []


def test_fast_pan_is_not_a_boundary() -> None:
    # 9 px per frame on a 160 px frame: every frame changes a lot, none is a cut
    assert detect(pan(8, 80, speed=9.0)) == []


def test_gradual_change_of_light_is_not_a_boundary() -> None:
    # the exposure of one shot rises by 60 % over 12 frames
    frames = pan(23, 60)
    gain = np.clip((np.arange(60) - 24) / 12, 0, 1) * 0.6 + 1.0
    assert detect([np.clip(f * g, 0, 1) for f, g in zip(frames, gain, strict=True)]) == []


def test_single_frame_flash_is_not_a_cut() -> None:
    frames = pan(9, 60)
    frames[30] = 0.25 * frames[30] + 0.75  # a photo flash
    assert detect(frames) == []


def occlude(frames: list[np.ndarray], start: int, enter: int, hold: int, level: float) -> None:
    """Pass an out-of-focus body in front of the lens: it sweeps in from the left over
    ``enter`` frames, covers the whole frame for ``hold`` frames and sweeps out to the right."""
    xx = np.mgrid[0:H, 0:W][1].astype(np.float32)
    centres = [-0.9 * W + (j + 1) / enter * 1.4 * W for j in range(enter)]
    centres += [0.5 * W] * hold + [0.5 * W + (j + 1) / enter * 1.4 * W for j in range(enter)]
    for j, cx in enumerate(centres):
        body = np.clip((0.7 * W - np.abs(xx - cx)) / (0.2 * W), 0, 1)[..., None]
        frames[start + j] = frames[start + j] * (1 - body) + np.float32(level) * body


@pytest.mark.parametrize(("enter", "hold", "level"), [(4, 0, 0.05), (1, 8, 0.2), (2, 30, 0.1)])
def test_someone_crossing_in_front_of_the_lens_is_not_a_boundary(
    enter: int, hold: int, level: float
) -> None:
    frames = pan(10, 90, speed=0.3)  # a slow pan: the view is still there after 1.5 s
    occlude(frames, 30, enter, hold, level)
    assert detect(frames) == []


def test_inserted_shot_is_two_cuts_unless_shorter_than_revert_frames() -> None:
    a, b = pan(24, 100), pan(25, 40)
    frames = a[:40] + b[:20] + a[60:]  # 20 frames of another shot: two cuts
    assert [(x.frame, x.kind) for x in detect(frames)] == [(40, "cut"), (60, "cut")]
    frames = a[:40] + b[:8] + a[48:]  # 8 frames (< revert_frames = 12): an interruption
    assert detect(frames) == []
    assert [x.frame for x in detect(frames, revert_frames=4)] == [40, 48]


def test_several_boundaries_in_order_and_bounded_latency() -> None:
    a, b, c, d = pan(11, 40), pan(12, 50), pan(13, 50), pan(14, 40)
    frames = a + dissolve(b, fade_through_black(c, d, 8), 12)
    # truths: cut at 40, dissolve centre 40 + 38 + 6 = 84, fade: black at 127 and 128
    det = make_detector(fps=24.0)
    got: list[tuple[int, Boundary]] = []
    for i, f in enumerate(frames):
        got += [(i, x) for x in det.push(i, f)]
    got += [(len(frames), x) for x in det.finish()]
    kinds = [x.kind for _, x in got]
    assert kinds == ["cut", "dissolve", "fade"]
    frames_found = [x.frame for _, x in got]
    assert frames_found == sorted(frames_found)
    assert frames_found[0] == 40
    assert abs(frames_found[1] - 84) <= 1
    assert abs(frames_found[2] - 128) <= 1
    for returned_at, x in got:
        assert returned_at - x.frame <= 48
        assert x.start <= x.frame <= x.end
        assert 0.0 <= x.score <= 1.0
        assert x.kind in KINDS


def test_streaming_equals_front_function_and_uses_constant_memory() -> None:
    frames = pan(15, 30) + pan(16, 30)
    det = BlendDetector(fps=24.0)
    pushed: list[Boundary] = []
    for i, f in enumerate(frames):
        pushed += det.push(i, f)
    pushed += det.finish()
    assert pushed == detect(frames)
    assert det._thumb.shape[0] == det._cap  # the ring buffer does not grow


def test_clip_of_one_frame_and_empty_clip() -> None:
    assert detect(pan(17, 1)) == []
    assert detect([]) == []
    assert make_detector().finish() == []


def test_histogram_method_finds_the_cut() -> None:
    frames = pan(18, 30) + pan(19, 30)
    found = detect(frames, method="histogram")
    assert [(b.frame, b.kind) for b in found] == [(30, "cut")]


def test_methods_table() -> None:
    assert {"default", "blend", "histogram"} <= set(boundaries.METHODS)
    for cls in boundaries.METHODS.values():
        assert issubclass(cls, BoundaryDetector)
    assert isinstance(make_detector("blend", fps=30.0), BlendDetector)


def test_other_shapes_and_float64() -> None:
    # portrait, odd sizes and float64 input are accepted
    frames = [f.transpose(1, 0, 2).astype(np.float64) for f in pan(20, 30) + pan(21, 30)]
    assert [(b.frame, b.kind) for b in detect(frames)] == [(30, "cut")]  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (np.zeros((H, W), np.float32), r"\(H, W, 3\)"),
        (np.zeros((H, W, 4), np.float32), r"\(H, W, 3\)"),
        (np.zeros((2, H, W, 3), np.float32), r"\(H, W, 3\)"),
        (np.zeros((H, W, 3), np.uint8), "dtype uint8"),
        ([[0.0]], "numpy array"),
    ],
)
def test_bad_frame_raises(frame: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_detector().push(0, frame)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_frame_raises(value: float) -> None:
    det = make_detector()
    det.push(0, np.full((H, W, 3), 0.5, np.float32))
    frame = np.full((H, W, 3), 0.5, np.float32)
    frame[10, 20, 1] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        det.push(1, frame)


def test_non_consecutive_index_raises() -> None:
    det = make_detector()
    det.push(0, np.zeros((H, W, 3), np.float32))
    with pytest.raises(ValueError, match="does not follow 0"):
        det.push(2, np.zeros((H, W, 3), np.float32))


def test_size_change_raises() -> None:
    det = make_detector()
    det.push(0, np.zeros((H, W, 3), np.float32))
    with pytest.raises(ValueError, match="same size"):
        det.push(1, np.zeros((H + 2, W, 3), np.float32))


def test_bad_method_fps_and_options_raise() -> None:
    with pytest.raises(ValueError, match="unknown boundary method 'nope'"):
        make_detector("nope")
    with pytest.raises(ValueError, match="fps must be a positive number"):
        make_detector(fps=0.0)
    with pytest.raises(ValueError, match="cut_threshold"):
        make_detector(cut_threshold=-1.0)
    with pytest.raises(ValueError, match="flat_level"):
        make_detector(flat_level=float("nan"))
    with pytest.raises(ValueError, match="flat_frames"):
        make_detector(flat_frames=0)
    with pytest.raises(TypeError):
        make_detector(no_such_option=1)


# --------------------------------------------------------------------------------------------
# kernels


def test_blend_fit_recovers_mixing_weights() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 300)).astype(np.float32)
    weights = np.linspace(0, 1, 9, dtype=np.float32)
    window = (1 - weights)[:, None] * a + weights[:, None] * b
    alphas, residual, change = blend_fit(window)
    assert alphas.shape == (7,)
    np.testing.assert_allclose(alphas, weights[1:-1], atol=1e-5)
    assert residual < 1e-5
    assert change == pytest.approx(float(np.sqrt(np.mean((b - a) ** 2))), rel=1e-5)
    # identical end rows: no line to fit
    assert blend_fit(np.stack([a, a, a]))[1] == np.inf


def test_structure_correlation_and_histograms() -> None:
    img = texture(30)
    assert structure_correlation(img.ravel(), (0.5 * img + 0.2).ravel()) == pytest.approx(1.0)
    assert abs(structure_correlation(img.ravel(), texture(31).ravel())) < 0.5
    flat = np.full_like(img, 0.3)
    assert structure_correlation(img.ravel(), flat.ravel()) == 0.0
    h = hsv_histogram(img)
    assert h.shape == (196,) and h.dtype == np.float32
    assert float(h.sum()) == pytest.approx(1.0, abs=1e-5)
    assert hist_distance(h, h) == 0.0
    black = hsv_histogram(np.zeros_like(img))
    assert 0.5 < hist_distance(h, black) <= 1.0


# --------------------------------------------------------------------------------------------
# real footage


def _read_clip(path: Path, first: int, n: int) -> list[np.ndarray]:
    av = pytest.importorskip("av")
    out: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i < first:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            ch = min(h, w * 9 // 16)
            cw = min(w, h * 16 // 9)
            y0, x0 = (h - ch) // 2, (w - cw) // 2
            small = cv2.resize(rgb[y0 : y0 + ch, x0 : x0 + cw], (256, 144), cv2.INTER_AREA)
            out.append(small.astype(np.float32) / 255)
            if len(out) == n:
                break
    return out


@pytest.mark.footage
def test_real_footage_cut_and_dissolve() -> None:
    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        pytest.skip(f"no footage at {root} (set RUSHES_FOOTAGE)")
    clips = {c["name"]: c for c in json.loads((root / "MANIFEST.json").read_text())}
    names = ["parkour", "talkinghead_vr3_woman_flag", "dog_walk_sam2"]
    if not all(n in clips and (root / clips[n]["path"]).is_file() for n in names):
        pytest.skip(f"footage at {root} lacks one of {names}")
    a, b, c = (_read_clip(root / clips[n]["path"], 10, 36) for n in names)
    frames = a + dissolve(b, c, 12)  # cut at 36; mix frames 60..71, centre 66
    found = detect(frames)
    assert [b.kind for b in found] == ["cut", "dissolve"]
    assert found[0].frame == 36
    assert abs(found[1].frame - 66) <= 1


@pytest.mark.footage
def test_real_footage_running_car_transitions() -> None:
    # A commercial edit with fast camera moves (checked by eye, frames from 0): a zoom-blur
    # mix from a close-up of a blue car into a wide shot (mixed frames 28..31), a dip to white
    # (flat frames 271 and 272) into a shot of a blue car. Everything between is one moving
    # shot: a red car passing right across the lens (frames 100..105, the background stays)
    # and a car passing a sled (frames ~176..183) are not boundaries.
    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        pytest.skip(f"no footage at {root} (set RUSHES_FOOTAGE)")
    path = root / "running_car" / "running_car.mp4"
    if not path.is_file():
        pytest.skip(f"footage at {root} lacks running_car/running_car.mp4")
    frames = _read_clip(path, 0, 292)
    found = detect_boundaries(enumerate(frames), fps=25.0)
    assert [b.kind for b in found] == ["dissolve", "fade"]
    assert abs(found[0].frame - 29.5) <= 3
    assert abs(found[1].frame - 271.5) <= 3
    assert found[0].end < 36 and found[1].start > 260  # nothing across the moving shot
