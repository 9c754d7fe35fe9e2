"""Teach by example: 3 before/after pairs (synthetic markers added to real frames, the clean
frames as targets) teach an effect that removes markers from frames it never saw; a matte
effect learns where they are; bad examples, names and files are refused with one-line
messages, and a change on a performer's face is refused."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from rushes.analysis.people import detect_people
from rushes.dialect.store import models_dir
from rushes.dialect.teach import (
    FORMAT,
    apply_taught,
    check_faces,
    list_effects,
    load_taught,
    load_taught_file,
    read_effect_card,
    teach,
)
from rushes.dialect.teach_data import read_pairs
from rushes.errors import DeviceError, ModelError, TeachError
from rushes.media import xxh64_file
from rushes.project import Project
from tests.conftest import read_frames

CLIP = "people_walkthrough_intel"
TRAIN = [0, 60, 120]
UNSEEN = [180, 240]


def add_markers(img: np.ndarray, seed: int, n: int = 14) -> tuple[np.ndarray, np.ndarray]:
    """``img`` with ``n`` small white or black crosses and dots at random places, and their
    matte. float32 ``(H, W, 3)`` and ``(H, W)`` in [0, 1]."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    out = img.copy()
    matte = np.zeros((h, w), np.uint8)
    for _ in range(n):
        x, y, r = int(rng.integers(8, w - 8)), int(rng.integers(8, h - 8)), int(rng.integers(3, 6))
        m = np.zeros((h, w), np.uint8)
        if rng.random() < 0.5:
            cv2.line(m, (x - r, y), (x + r, y), 255, 2)
            cv2.line(m, (x, y - r), (x, y + r), 255, 2)
        else:
            cv2.circle(m, (x, y), r - 1, 255, -1)
        out[m > 0] = 1.0 if rng.random() < 0.5 else 0.02
        matte |= m
    return out, matte.astype(np.float32) / 255


def save_png(path: Path, img: np.ndarray) -> Path:
    """Write float RGB (or a grey matte) in [0, 1] as an 8-bit PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    assert cv2.imwrite(str(path), cv2.cvtColor(u8, cv2.COLOR_RGB2BGR))
    return path


def quantized(img: np.ndarray) -> np.ndarray:
    """``img`` as an 8-bit PNG would hold it."""
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8).astype(np.float32) / 255


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.fixture(scope="module")
def examples(
    tmp_path_factory: pytest.TempPathFactory, footage: Path, manifest: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """3 marked/clean pairs (+ marker mattes) as PNG files; 2 unseen frames with new markers."""
    root = tmp_path_factory.mktemp("teach")
    frames = [quantized(f) for f in read_frames(footage, manifest, CLIP, TRAIN + UNSEEN, 320)]
    for k, clean in enumerate(frames[: len(TRAIN)]):
        marked, matte = add_markers(clean, k)
        save_png(root / "before" / f"{k + 1:04d}.png", marked)
        save_png(root / "after" / f"{k + 1:04d}.png", clean)
        save_png(root / "matte" / f"{k + 1:04d}.png", matte)
    unseen = []
    for k, clean in enumerate(frames[len(TRAIN) :]):
        marked, matte = add_markers(clean, 100 + k)
        unseen.append((quantized(marked), clean, quantized(matte)))
    return {"root": root, "unseen": unseen}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project.init(tmp_path_factory.mktemp("teachp") / "film")


@pytest.fixture(scope="module")
def taught(examples: dict[str, Any], project: Project) -> dict[str, Any]:
    root = examples["root"]
    steps: list[tuple[int, float, float]] = []
    card = teach(
        project,
        "dots",
        root / "before" / "%04d.png",
        root / "after" / "####.png",
        minutes=5.0,
        seed=0,
        max_steps=120,
        crop=64,
        progress=lambda s, loss, t: steps.append((s, loss, t)),
    )
    return {"card": card, "steps": steps}


def test_teach_on_three_pairs_improves_psnr_on_frames_it_never_saw(
    taught: dict[str, Any], examples: dict[str, Any], project: Project
) -> None:
    card = taught["card"]
    model = load_taught(project, "dots", device="cpu")
    gains = []
    for marked, clean, _ in examples["unseen"]:
        got = apply_taught(model, marked)
        assert got.shape == marked.shape and got.dtype == np.float32
        gains.append(psnr(got, clean) - psnr(marked, clean))
    # measured (seed 0, 120 steps of 8 crops of 64 px, fresh network): +3.3 and +4.0 dB
    assert min(gains) > 1.5, gains
    assert np.mean(gains) > 2.0, gains
    assert card["scores"]["psnr_after"] > card["scores"]["psnr_before"] + 2.0
    assert 1 <= card["steps"] <= 120 and len(taught["steps"]) == card["steps"]
    assert card["loss"] < card["first_loss"]


def test_the_card_and_weights_say_what_was_taught(
    taught: dict[str, Any], examples: dict[str, Any], project: Project
) -> None:
    card = taught["card"]
    folder = models_dir(project) / "taught" / "dots"
    assert json.loads((folder / "card.json").read_text()) == json.loads(json.dumps(card))
    assert read_effect_card(project, "dots")["name"] == "dots"
    assert list_effects(project) == ["dots"]
    assert not list((models_dir(project) / "taught").glob(".*"))  # no partial left
    assert card["output"] == "rgb" and card["base_model"] is None and card["seed"] == 0
    assert card["size"] == [320, 180]
    ex = card["examples"]
    assert len(ex) == 3 and ex[0]["before"].endswith("before/0001.png")
    assert ex[2]["after_xxh64"] == xxh64_file(examples["root"] / "after" / "0003.png")
    assert card["weights_xxh64"] == xxh64_file(folder / "weights.safetensors")
    assert any("no project model" in w for w in card["warnings"])  # fresh start said
    assert not any("only" in w for w in card["warnings"])  # 3 distinct pairs: enough
    from safetensors import safe_open

    with safe_open(str(folder / "weights.safetensors"), framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == FORMAT and meta["output"] == "rgb"
    assert json.loads(meta["config"])["out_channels"] == 3


def test_tiles_agree_with_the_whole_frame(
    taught: dict[str, Any], examples: dict[str, Any], project: Project
) -> None:
    model = load_taught(project, "dots", device="cpu")
    marked = examples["unseen"][0][0]
    whole = apply_taught(model, marked)
    tiled = apply_taught(model, marked, tile=128, overlap=32)
    assert tiled.shape == whole.shape
    assert float(np.abs(tiled - whole).mean()) < 0.003
    with pytest.raises(ValueError, match="NaN"):
        apply_taught(model, np.full((32, 32, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        apply_taught(model, np.zeros((32, 32), np.float32))


def test_a_matte_effect_learns_where_the_markers_are(
    examples: dict[str, Any], project: Project
) -> None:
    root = examples["root"]
    card = teach(
        project,
        "dots-matte",
        root / "before",
        root / "matte",
        output="matte",
        minutes=5.0,
        max_steps=160,
        crop=64,
    )
    assert card["output"] == "matte" and "iou" in card["scores"]
    model = load_taught(project, "dots-matte", device="cpu")
    for marked, _, matte in examples["unseen"]:
        got = apply_taught(model, marked)
        assert got.shape == matte.shape and got.min() >= 0.0 and got.max() <= 1.0
        iou = (
            np.logical_and(got > 0.5, matte > 0.5).sum()
            / np.logical_or(got > 0.5, matte > 0.5).sum()
        )
        # measured (160 steps): IoU 0.30 and 0.30, +2.1 and +1.9 dB over an empty matte
        assert iou > 0.15, iou
        assert psnr(got, matte) > psnr(np.zeros_like(matte), matte) + 1.0


# --------------------------------------------------------------------------------------------
# bad input


def tiny(root: Path, n: int, size: tuple[int, int] = (64, 48), seed: int = 0) -> Path:
    """``n`` random textured PNG frames of ``size`` (w, h) in ``root``."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        img = cv2.resize(rng.random((6, 8, 3)).astype(np.float32), size)
        save_png(root / f"f{k:02d}.png", img)
    return root


def marked_copies(src: Path, dst: Path) -> Path:
    for k, p in enumerate(sorted(src.glob("*.png"))):
        img = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        save_png(dst / p.name, add_markers(img, k, n=3)[0])
    return dst


def test_counts_sizes_and_missing_files_are_refused(tmp_path: Path, project: Project) -> None:
    after = tiny(tmp_path / "after", 3)
    before = marked_copies(after, tmp_path / "before")
    (after / "f02.png").rename(tmp_path / "spare.png")
    with pytest.raises(TeachError, match=r"3 before frame\(s\).* but 2 after"):
        teach(project, "x", before / "f%02d.png", after / "f%02d.png", max_steps=1)
    (tmp_path / "spare.png").rename(after / "f02.png")
    big = tiny(tmp_path / "big", 1, size=(80, 48))
    (big / "f00.png").replace(after / "f01.png")
    with pytest.raises(TeachError, match=r"f01.png is 80x48 but its before frame f01.png is 64x48"):
        teach(project, "x", before, after, max_steps=1)
    other = tiny(tmp_path / "other", 2, size=(96, 64))
    (other / "f01.png").replace(before / "f01.png")
    (other / "f00.png").replace(after / "f01.png")
    with pytest.raises(TeachError, match=r"is 96x64 but f00.png is 64x48; every example"):
        teach(project, "x", before, after, max_steps=1)
    with pytest.raises(TeachError, match="no such file or folder"):
        teach(project, "x", tmp_path / "nowhere.png", after, max_steps=1)
    with pytest.raises(TeachError, match="no files match"):
        teach(project, "x", tmp_path / "none.%04d.png", after, max_steps=1)
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(TeachError, match=r"broken\.png: cannot be read"):
        teach(project, "x", tmp_path / "broken.png", after / "f00.png", max_steps=1)
    assert "x" not in list_effects(project)


def test_names_and_options_are_checked(tmp_path: Path, project: Project) -> None:
    after = tiny(tmp_path / "after", 1)
    before = marked_copies(after, tmp_path / "before")
    for bad in ("", "../evil", "a b", "-dash", "x" * 65, "café"):
        with pytest.raises(TeachError, match="is not allowed"):
            teach(project, bad, before, after, max_steps=1)
    with pytest.raises(TeachError, match="output 'alpha' unknown"):
        teach(project, "ok", before, after, output="alpha", max_steps=1)
    with pytest.raises(TeachError, match="minutes"):
        teach(project, "ok", before, after, minutes=0, max_steps=1)
    with pytest.raises(TeachError, match="no taught effect 'nope'"):
        load_taught(project, "nope")


def test_an_existing_effect_is_kept_unless_forced(tmp_path: Path, project: Project) -> None:
    after = tiny(tmp_path / "after", 1)
    before = marked_copies(after, tmp_path / "before")
    first = teach(project, "again", before, after, max_steps=1, crop=32, keep_worse=True)
    with pytest.raises(TeachError, match=r"exists.*--force"):
        teach(project, "again", before, after, max_steps=1, crop=32, keep_worse=True)
    second = teach(project, "again", before, after, max_steps=2, crop=32, seed=1, force=True)
    assert second["steps"] == 2 and first["steps"] == 1
    assert read_effect_card(project, "again")["seed"] == 1
    assert not list((models_dir(project) / "taught").glob(".again*"))


def test_warnings_for_one_pair_and_identical_pairs(tmp_path: Path, project: Project) -> None:
    after = tiny(tmp_path / "after", 1)
    before = marked_copies(after, tmp_path / "before")
    one = teach(project, "one", before, after, max_steps=1, crop=32, keep_worse=True)
    assert any(w.startswith("only 1 example pair:") for w in one["warnings"]), one["warnings"]
    for k in (1, 2):  # the same pair three times
        save_png(before / f"f{k:02d}.png", cv2.imread(str(before / "f00.png"))[..., ::-1] / 255.0)
        save_png(after / f"f{k:02d}.png", cv2.imread(str(after / "f00.png"))[..., ::-1] / 255.0)
    same = teach(project, "same", before, after, max_steps=1, crop=32, keep_worse=True)
    assert not any(w.startswith("only") for w in same["warnings"])
    assert any("only 1 distinct view" in w for w in same["warnings"]), same["warnings"]
    nothing = teach(project, "nothing", after, after, max_steps=1, crop=32, keep_worse=True)
    assert any("too small to learn" in w for w in nothing["warnings"]), nothing["warnings"]
    distinct = tiny(tmp_path / "distinct", 3, seed=5)
    fine = teach(
        project,
        "fine",
        marked_copies(distinct, tmp_path / "d_before"),
        distinct,
        max_steps=1,
        crop=32,
        keep_worse=True,
    )
    assert not any("distinct" in w or "only" in w or "small" in w for w in fine["warnings"])


def test_foreign_weights_are_refused(tmp_path: Path, project: Project) -> None:
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(other), {"format": "rushes.platenet.1"})
    with pytest.raises(ModelError, match=r"not a rushes\.taught\.1 file"):
        load_taught_file(other, device="cpu")
    pickled = tmp_path / "weights.safetensors"
    pickled.write_bytes(pickle.dumps({"head.weight": [0.0] * 10}))
    with pytest.raises(ModelError, match="never unpickles"):
        load_taught_file(pickled, device="cpu")
    # an effect whose weights were swapped after teaching is refused by its checksum
    after = tiny(tmp_path / "after", 1)
    before = marked_copies(after, tmp_path / "before")
    teach(project, "swapped", before, after, max_steps=1, crop=32, keep_worse=True)
    w = models_dir(project) / "taught" / "swapped" / "weights.safetensors"
    w.write_bytes(other.read_bytes())
    with pytest.raises(ModelError, match="checksum differs"):
        load_taught(project, "swapped", device="cpu")


def test_a_change_on_a_performers_face_is_refused(
    tmp_path: Path, footage: Path, manifest: dict[str, dict[str, Any]], project: Project
) -> None:
    frames = read_frames(footage, manifest, "talkinghead_vr4_woman_bluebg", [0, 40, 80], 384)
    faces = [[d for d in detect_people(f, bodies=False) if d.kind == "face"] for f in frames]
    assert all(faces), "the talking head's face must be found for this test to mean anything"
    for k, (f, found) in enumerate(zip(frames, faces, strict=True)):
        d = found[0]
        h, w = f.shape[:2]
        mouth = (int((d.x + d.w * 0.5) * w), int((d.y + d.h * 0.75) * h))
        changed = f.copy()
        cv2.ellipse(
            changed,
            mouth,
            (int(d.w * w * 0.18), int(d.h * h * 0.08)),
            0,
            0,
            360,
            (0.55, 0.2, 0.2),
            -1,
        )
        save_png(tmp_path / "before" / f"{k:04d}.png", f)
        save_png(tmp_path / "after" / f"{k:04d}.png", changed)
        # the same patch on the blue background is a fine example
        corner = f.copy()
        cv2.ellipse(
            corner,
            (int(0.1 * w), int(0.8 * h)),
            (int(d.w * w * 0.18), int(d.h * h * 0.08)),
            0,
            0,
            360,
            (0.55, 0.2, 0.2),
            -1,
        )
        save_png(tmp_path / "ok" / f"{k:04d}.png", corner)
    with pytest.raises(TeachError, match=r"after/0000.png: \d+% of its change .* performer's face"):
        teach(project, "mouth", tmp_path / "before", tmp_path / "after", max_steps=1)
    assert "mouth" not in list_effects(project)
    check_faces(read_pairs(tmp_path / "before", tmp_path / "ok"))  # no error
    # a grade over the whole close-up is not concentrated on the face
    graded = tmp_path / "graded"
    for k, f in enumerate(frames):
        save_png(graded / f"{k:04d}.png", f * np.float32([1.05, 1.0, 0.9]))
    check_faces(read_pairs(tmp_path / "before", graded))


def test_it_starts_from_the_project_model_when_there_is_one(tmp_path: Path) -> None:
    from rushes.dialect.net import FORMAT as PLATE_FORMAT
    from rushes.dialect.net import NetConfig, PlateNet
    from rushes.dialect.store import WEIGHTS, save_tensors, write_json

    project = Project.init(tmp_path / "film")
    torch.manual_seed(3)
    plate = PlateNet(NetConfig(widths=(8, 16, 24, 32)))
    folder = models_dir(project) / "v001"
    save_tensors(
        folder / WEIGHTS,
        plate.state_dict(),
        {"format": PLATE_FORMAT, "config": plate.config.to_json()},
    )
    write_json(folder / "card.json", {"version": "v001"})
    after = tiny(tmp_path / "after", 3)
    before = marked_copies(after, tmp_path / "before")
    card = teach(
        project, "based", before, after, output="matte", max_steps=1, crop=32, keep_worse=True
    )
    assert card["base_model"] == "v001"
    assert not any("no project model" in w for w in card["warnings"])
    model = load_taught(project, "based", device="cpu")
    assert model.net.config == NetConfig(widths=(8, 16, 24, 32), out_channels=1)
    # one small step away from the plate network's body, with a new one-channel head
    body = plate.state_dict()["enc0.0.0.weight"]
    got = model.net.state_dict()["enc0.0.0.weight"]
    assert float((got - body).abs().max()) < 0.01
    assert model.net.head.weight.shape[0] == 1


def test_the_same_seed_teaches_the_same_weights(tmp_path: Path, project: Project) -> None:
    after = tiny(tmp_path / "after", 3)
    before = marked_copies(after, tmp_path / "before")
    for name, seed in (("seed-a", 0), ("seed-b", 0), ("seed-c", 1)):
        teach(project, name, before, after, max_steps=3, crop=32, seed=seed, keep_worse=True)
    a, b, c = (
        load_taught(project, n, "cpu").net.state_dict() for n in ("seed-a", "seed-b", "seed-c")
    )
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no usable CUDA GPU"):
            teach(project, "gpu", before, after, device="cuda", max_steps=1)


def test_an_effect_worse_than_nothing_is_not_kept(
    tmp_path: Path, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An RGB effect that ends further from its examples than the untouched frames is refused
    with the numbers, and nothing is published."""
    import rushes.dialect.teach as teach_mod

    after = tiny(tmp_path / "after", 3)
    before = marked_copies(after, tmp_path / "before")
    real = teach_mod._scores

    def worse(model: Any, pairs: Any) -> dict[str, Any]:
        got = real(model, pairs)
        return {**got, "psnr_after": got["psnr_before"] - 3.0}

    monkeypatch.setattr(teach_mod, "_scores", worse)
    with pytest.raises(TeachError, match=r"makes its own examples worse .* not kept"):
        teach(project, "worse", before, after, max_steps=2)
    assert "worse" not in list_effects(project)
    assert not list((models_dir(project) / "taught").glob(".worse*"))  # nothing half-written
    card = teach(project, "worse", before, after, max_steps=2, keep_worse=True)
    assert any("kept because --keep-worse" in w for w in card["warnings"]), card["warnings"]
    assert "worse" in list_effects(project)
