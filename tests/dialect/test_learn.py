"""rushes learn on real footage: validation loss improves, resume goes on, the manifest is right,
bad checkpoints and devices are refused."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rushes.dialect import store
from rushes.dialect.learn import STATE, LearnSettings, learn, make_batch
from rushes.dialect.net import FORMAT, NetConfig, PlateNet
from rushes.dialect.plate import PlateModel, load_plate
from rushes.errors import DeviceError, ModelError
from rushes.ingest import ingest
from rushes.project import Clip, Project

pytestmark = pytest.mark.footage

CLIPS = ("schoolgirls/schoolgirls.mp4", "bmx-trees/frames", "tennis/frames")
BUDGET = 8.0  # minutes


def small(steps: int | None = None, moments: int = 40, per_moment: int = 2) -> LearnSettings:
    return LearnSettings(
        moments=moments, per_moment=per_moment, val_moments=8, masks=256, workers=2, steps=steps
    )


@pytest.fixture(scope="module")
def ingested(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("learn") / "film"
    project = Project.init(root, fps="24")
    report = ingest(project, [footage / c for c in CLIPS], workers=2)
    assert not report.failed
    return root


@pytest.fixture(scope="module")
def learned(ingested: Path) -> tuple[Project, dict[str, Any], list[int]]:
    project = Project.open(ingested)
    steps: list[int] = []

    def hook(phase: str, info: dict[str, Any]) -> None:
        if phase == "train":
            steps.append(info["step"])

    # a fixed number of steps (reproducible whatever the machine's speed) on enough crops
    # that the network generalizes: on 80 crops it overfits and the held-out loss rises. The
    # budget is only a ceiling (the step cap ends the run first, ~2 min on an idle 2-core
    # machine); it is generous so a busy machine still reaches the cap.
    card = learn(
        project, minutes=BUDGET, settings=small(steps=150, moments=200, per_moment=3), hook=hook
    )
    return project, card, steps


def test_learn_improves_validation_loss(learned: tuple[Project, dict[str, Any], list[int]]) -> None:
    _, card, _ = learned
    curve = card["training"]["validation_curve"]
    assert card["training"]["steps"] == 150  # the step cap, not the machine's speed
    assert curve[0][0] == 0 and curve[-1][0] == card["training"]["steps"]
    assert curve[-1][1] < curve[0][1]  # held-out loss went down
    v = card["validation"]
    assert v["crops"] == 8
    for r in v["masked"].values():
        assert np.isfinite(r["network_db"]) and np.isfinite(r["telea_db"])
    assert card["wall_seconds"] < BUDGET * 60 + 30  # the budget holds (cutting crops included)


def test_manifest_lists_the_clips(learned: tuple[Project, dict[str, Any], list[int]]) -> None:
    project, card, _ = learned
    manifest = store.read_json(store.version_dir(project) / store.MANIFEST)
    with project.session() as s:
        catalog = {c.checksum: c.name for c in s.query(Clip).all()}
    listed = {c["checksum"]: c for c in manifest["clips"]}
    assert set(listed) == set(catalog)
    roles = [c["role"] for c in manifest["clips"]]
    assert roles.count("validation") == 1 and roles.count("train") == 2
    assert all(c["crops"] > 0 for c in manifest["clips"] if c["role"] == "train")
    assert card["data"]["train_clips"] == 2
    assert card["data"]["train_crops"] == sum(
        c["crops"] for c in manifest["clips"] if c["role"] == "train"
    )
    import hashlib

    digest = hashlib.sha256((store.version_dir(project) / store.MANIFEST).read_bytes()).hexdigest()
    assert card["data"]["manifest_sha256"] == digest


def test_model_loads_and_fills(learned: tuple[Project, dict[str, Any], list[int]]) -> None:
    project, card, _ = learned
    model = load_plate(project, device="cpu")
    assert model is not None and model.version == card["version"]
    rng = np.random.default_rng(0)
    frame = rng.random((60, 90, 3)).astype(np.float32)
    mask = np.zeros((60, 90), np.float32)
    mask[20:30, 40:50] = 1
    out = model.fill(frame, mask, prev=frame, next=frame)
    assert out.shape == frame.shape
    np.testing.assert_array_equal(out[mask == 0], frame[mask == 0])  # known pixels untouched
    assert np.all((out >= 0) & (out <= 1))
    mid = model.middle(frame, frame)
    assert mid.shape == frame.shape


def test_resume_goes_on_from_the_checkpoint(ingested: Path) -> None:
    project = Project.open(ingested)
    seen: list[int] = []

    def stop(phase: str, info: dict[str, Any]) -> None:
        if phase == "train":
            seen.append(info["step"])
            if info["step"] >= 20:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        learn(project, minutes=1.0, settings=small(), hook=stop, seed=3)
    state = store.read_json(store.partial_dir(project) / STATE)
    assert state["step"] == 20
    resumed: list[int] = []

    def track(phase: str, info: dict[str, Any]) -> None:
        if phase in ("resume", "train"):
            resumed.append(info["step"])

    card = learn(project, resume=True, hook=track)
    assert resumed[0] == 20  # starts where it stopped, not from 0
    assert card["training"]["steps"] > 20
    assert card["training"]["validation_curve"][0][0] == 0  # the first run's record kept
    assert card["settings"]["seed"] == 3
    assert not store.partial_dir(project).exists()  # published


def test_batches_depend_only_on_seed_and_step() -> None:
    bank = np.random.default_rng(0).integers(0, 255, (10, 15, 40, 40), dtype=np.uint8)
    masks = np.zeros((4, 3, 32, 32), np.uint8)
    masks[:, :, 10:20, 10:20] = 1
    a, ta = make_batch(bank, masks, 7, 1, 32, 4, 0.25, torch.device("cpu"))
    b, tb = make_batch(bank, masks, 7, 1, 32, 4, 0.25, torch.device("cpu"))
    c, _ = make_batch(bank, masks, 8, 1, 32, 4, 0.25, torch.device("cpu"))
    assert torch.equal(a, b) and torch.equal(ta, tb) and not torch.equal(a, c)
    assert a.shape == (4, 12, 32, 32)


def test_resume_without_a_run_is_refused(tmp_path: Path) -> None:
    project = Project.init(tmp_path / "p")
    with pytest.raises(ModelError, match="no interrupted run"):
        learn(project, resume=True)


def test_too_little_footage(tmp_path: Path, footage: Path) -> None:
    project = Project.init(tmp_path / "p")
    with pytest.raises(ModelError, match="no clips ingested"):
        learn(project, minutes=0.2)
    ingest(project, [footage / "schoolgirls/schoolgirls.mp4"], workers=1)
    with pytest.raises(ModelError, match="at least two"):
        learn(project, minutes=0.2)


def test_foreign_or_corrupt_weights_are_refused(tmp_path: Path) -> None:
    project = Project.init(tmp_path / "p")
    folder = store.models_dir(project) / "v001"
    folder.mkdir()
    store.write_json(folder / store.CARD, {"version": "v001"})
    weights = folder / store.WEIGHTS
    weights.write_bytes(pickle.dumps({"w": [1, 2, 3]}))  # a pickle is never loaded
    with pytest.raises(ModelError, match="not a valid safetensors"):
        PlateModel.load(project)
    net = PlateNet()
    store.save_tensors(weights, dict(net.state_dict()), {"format": "someone.else.1"})
    with pytest.raises(ModelError, match=r"not a rushes\.platenet\.1"):
        PlateModel.load(project)
    other = PlateNet(NetConfig(widths=(8, 16, 32, 48)))
    store.save_tensors(
        weights, dict(other.state_dict()), {"format": FORMAT, "config": NetConfig().to_json()}
    )
    with pytest.raises(ModelError, match="do not fit"):
        PlateModel.load(project)
    store.save_tensors(
        weights, dict(net.state_dict()), {"format": FORMAT, "config": NetConfig().to_json()}
    )
    assert PlateModel.load(project).version == "v001"
    with pytest.raises(ModelError, match="no model version 'v009'"):
        PlateModel.load(project, "v009")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error(tmp_path: Path) -> None:
    project = Project.init(tmp_path / "p")
    with pytest.raises(DeviceError, match="no usable CUDA GPU"):
        learn(project, device="cuda")
