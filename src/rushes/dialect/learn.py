"""``rushes learn``: the project model from the production's own dailies.

One run, within a wall-clock budget (``minutes``, everything included):

1. **Data**: the catalog's clips, whole clips held out for validation
   (:func:`rushes.dialect.data.plan_sources`); crops of consecutive frame triples cut from them
   in worker processes, kept in ``models/.partial`` so a resumed run does not cut them again.
2. **Profiles**: look, grain, lens, motion and rhythm (:mod:`rushes.dialect.profiles`).
3. **The plate network** (:mod:`rushes.dialect.net`), trained self-supervised on the crops:
   fill synthetic wire/rig/object mattes (:mod:`rushes.dialect.masks`) from the frame and its
   neighbours, and make the middle frame from its neighbours. Adam with a cosine learning rate
   over the training time; every batch is drawn from ``(seed, step)`` so a resumed run goes on
   exactly where it stopped. A checkpoint (safetensors + ``state.json``) is written every
   :data:`CHECKPOINT_SECONDS` and when the run is interrupted.
4. **Validation** on the held-out clips, next to classical baselines (OpenCV Telea for the
   masked task, flow-warp blending for the middle frame), then the model card, the data
   manifest, the profiles and the weights are written and the folder is published as the next
   version (``models/vNNN``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rushes.atomic import atomic_path
from rushes.compute.device import autocast, describe, pick_device
from rushes.dialect import store
from rushes.dialect.baselines import score_validation
from rushes.dialect.data import ALIGNED_9, RAW_9, Source, build_bank, plan_sources
from rushes.dialect.masks import mask_bank
from rushes.dialect.net import FORMAT, NetConfig, PlateNet, predict, stack_input
from rushes.errors import ModelError
from rushes.project import Project
from rushes.project.settings import parse_rate

CHECKPOINT_FORMAT = "rushes.checkpoint.1"
CHECKPOINT_SECONDS = 60.0
STATE = "state.json"
CHECKPOINT = "checkpoint.safetensors"
BANK_TRAIN = "bank_train.npy"
BANK_VAL = "bank_val.npy"

Hook = Callable[[str, dict[str, Any]], None]
"""Progress callback: ``(phase, info)``; phases ``data``, ``profiles``, ``train``,
``checkpoint``, ``validate``, ``done``."""


@dataclass
class LearnSettings:
    """What a run does; stored in the model card (defaults are the CPU budget's)."""

    minutes: float = 15.0
    seed: int = 0
    crop: int = 96
    batch: int = 16
    lr: float = 2e-3
    widths: tuple[int, int, int, int] = (16, 32, 64, 96)
    holdout: float = 0.2
    moments: int = 2000
    per_moment: int = 3
    val_moments: int = 48
    val_crop: int = 160
    middle_share: float = 0.25
    steps: int | None = None
    """Stop after this many training steps even within the budget (tests); the learning rate
    then follows the steps, so a run is reproducible whatever the machine's speed."""
    masks: int = 4096
    workers: int = 2


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class _Clock:
    """The run's wall-clock budget; ``spent`` carries over a resumed run."""

    def __init__(self, minutes: float, spent: float = 0.0) -> None:
        self.budget = minutes * 60.0
        self.start = time.monotonic() - spent

    @property
    def spent(self) -> float:
        return time.monotonic() - self.start

    @property
    def left(self) -> float:
        return self.budget - self.spent


# --------------------------------------------------------------------------------------------
# batches


def make_batch(
    bank: np.ndarray,
    masks: np.ndarray,
    step: int,
    seed: int,
    crop: int,
    batch: int,
    middle_share: float,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The input and target of training step ``step`` (a pure function of ``seed``/``step``).

    Returns:
        ``(N, 12, crop, crop)`` input and ``(N, 3, crop, crop)`` target (this frame), float32 in
        the clips' own encoding, [0, 1].
    """
    rng = np.random.default_rng([seed, step])
    scale = 65535.0 if bank.dtype == np.uint16 else 255.0
    idx = np.sort(rng.integers(0, bank.shape[0], batch))
    room = bank.shape[-1] - crop
    oy, ox = (int(v) for v in rng.integers(0, room + 1, 2))
    crops = bank[idx, :, oy : oy + crop, ox : ox + crop].astype(np.float32) / scale
    m = masks[rng.integers(0, masks.shape[0], batch)].astype(np.float32)
    middle = rng.random(batch) < middle_share
    m[middle, 0], m[middle, 1], m[middle, 2] = 0.0, 1.0, 0.0
    # the masked task sees neighbours aligned by the camera's motion, the middle frame raw ones
    frames = np.where(middle[:, None, None, None], crops[:, RAW_9], crops[:, ALIGNED_9])
    if rng.random() < 0.5:
        frames, m = frames[..., ::-1], m[..., ::-1]
    if rng.random() < 0.5:
        frames, m = frames[..., ::-1, :], m[..., ::-1, :]
    if rng.random() < 0.5:  # time runs both ways
        frames = frames[:, [6, 7, 8, 3, 4, 5, 0, 1, 2]]
        m = m[:, ::-1]
    return _input(frames, m, device)


def _input(
    frames: np.ndarray, m: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Network input and target from ``(N, 9, H, W)`` frames and ``(N, 3, H, W)`` masks."""
    f = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    mm = torch.from_numpy(np.ascontiguousarray(m)).to(device)
    x = stack_input(f[:, 0:3], f[:, 3:6], f[:, 6:9], mm[:, 0:1], mm[:, 1:2], mm[:, 2:3])
    return x, f[:, 3:6]


def masked_l1(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error inside ``mask`` ``(N, 1, H, W)``."""
    return ((out - target).abs() * mask).sum() / (mask.sum() * out.shape[1]).clamp_min(1.0)


@torch.no_grad()
def validation_loss(
    net: PlateNet, bank: np.ndarray, masks: np.ndarray, device: torch.device
) -> float:
    """Masked L1 of ``net`` over the validation crops (fixed masks: one per crop)."""
    net.eval()
    scale = 65535.0 if bank.dtype == np.uint16 else 255.0
    total, weight = 0.0, 0.0
    for i in range(0, bank.shape[0], 8):
        frames = bank[i : i + 8][:, ALIGNED_9].astype(np.float32) / scale
        x, target = _input(frames, masks[i : i + 8].astype(np.float32), device)
        with autocast(device):
            out = predict(net, x).float()
        w = float(x[:, 10:11].sum())
        total += float(masked_l1(out, target, x[:, 10:11])) * w
        weight += w
    net.train()
    return total / max(weight, 1.0)


# --------------------------------------------------------------------------------------------
# checkpoints


def save_checkpoint(
    folder: Path, net: PlateNet, opt: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Weights, optimizer moments and the run's state, each file written atomically."""
    tensors = {f"model.{k}": v for k, v in net.state_dict().items()}
    for i, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            tensors[f"optim.{i}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    meta = {"format": CHECKPOINT_FORMAT, "config": net.config.to_json()}
    store.save_tensors(folder / CHECKPOINT, tensors, meta)
    state = {**state, "param_groups": opt.state_dict()["param_groups"], "saved_at": _now()}
    store.write_json(folder / STATE, state)


def load_checkpoint(
    folder: Path, device: torch.device, lr: float
) -> tuple[PlateNet, torch.optim.Optimizer, dict[str, Any]]:
    """The network, optimizer and state of the run in ``folder``.

    Raises:
        ModelError: no checkpoint, or a corrupt/foreign one (never unpickled).
    """
    state = store.read_json(folder / STATE)
    tensors, meta = store.load_tensors(folder / CHECKPOINT, CHECKPOINT_FORMAT)
    try:
        config = NetConfig.from_json(meta["config"])
    except (KeyError, ValueError, TypeError):
        raise ModelError(f"{folder / CHECKPOINT}: no valid network config; start over") from None
    net = PlateNet(config)
    store.load_state(net, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, folder)
    net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, i, name = k.split(".", 2)
            opt_state.setdefault(int(i), {})[name] = v.to(device) if name != "step" else v
    try:
        opt.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
    except (KeyError, ValueError) as e:
        raise ModelError(
            f"{folder / CHECKPOINT}: optimizer state unusable ({e}); start over"
        ) from None
    return net, opt, state


def _save_bank(path: Path, bank: np.ndarray) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.save(f, bank)


# --------------------------------------------------------------------------------------------
# the run


def learn(
    project: Project,
    minutes: float | None = None,
    device: str = "auto",
    resume: bool = False,
    seed: int = 0,
    hook: Hook | None = None,
    settings: LearnSettings | None = None,
) -> dict[str, Any]:
    """Learn the project model; returns its card (see the module docstring).

    Args:
        project: the open project.
        minutes: wall-clock budget of the whole run (data, profiles, training, validation);
            default 15, or the interrupted run's own budget with ``resume``.
        device: ``auto``, ``cpu`` or ``cuda``.
        resume: go on with the interrupted run in ``models/.partial``.
        seed: seeds the validation split, the crops, the masks and every batch.
        hook: progress callback.
        settings: advanced settings (defaults: :class:`LearnSettings`).

    Raises:
        ModelError: no clips or too little footage, nothing to resume, a bad checkpoint.
        DeviceError: ``cuda`` on a machine without a GPU.
    """
    emit = hook or (lambda _phase, _info: None)
    dev = pick_device(device)
    part = store.partial_dir(project)
    if resume:
        if not (part / STATE).is_file():
            raise ModelError(
                "no interrupted run to resume (models/.partial is empty); run 'rushes learn'"
            )
        prior = store.read_json(part / STATE)
        cfg = LearnSettings(**{**prior["settings"], "widths": tuple(prior["settings"]["widths"])})
        if minutes is not None:
            cfg.minutes = minutes
        clock = _Clock(cfg.minutes, float(prior.get("spent", 0.0)))
        sources = [
            Source(**{**s, "shots": [tuple(x) for x in s["shots"]]}) for s in prior["sources"]
        ]
        _check_sources(project, sources)
        bank = np.load(part / BANK_TRAIN, mmap_mode="r")
        vbank = np.load(part / BANK_VAL)
        profiles = store.read_json(part / store.PROFILES)
        net, opt, state = load_checkpoint(part, dev, cfg.lr)
        emit("resume", {"step": state["step"], "spent": clock.spent})
    else:
        cfg = settings or LearnSettings()
        cfg.minutes, cfg.seed = (15.0 if minutes is None else minutes), seed
        if settings is None:  # fewer crops for a short run: cutting them takes time too
            cfg.moments = int(np.clip(150 * cfg.minutes, 40, cfg.moments))
        clock = _Clock(cfg.minutes)
        if part.exists():
            shutil.rmtree(part)
        part.mkdir(parents=True)
        sources = plan_sources(project, cfg.holdout, cfg.seed)
        bank, vbank = _prepare_data(sources, cfg, emit)
        _save_bank(part / BANK_TRAIN, bank)
        _save_bank(part / BANK_VAL, vbank)
        profiles = _profiles(project, sources, emit)
        store.write_json(part / store.PROFILES, profiles)
        torch.manual_seed(cfg.seed)
        net = PlateNet(NetConfig(widths=cfg.widths)).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        state = {
            "step": 0,
            "samples": 0,
            "train_seconds": 0.0,
            "curve": [],
            "created_at": _now(),
            "device": describe(dev),
        }
    masks, _ = mask_bank(cfg.masks, cfg.crop, cfg.seed)
    vmasks, vkinds = mask_bank(vbank.shape[0], cfg.val_crop, cfg.seed + 7919)
    if dev.type == "cpu":
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    # time kept for the final validation (network, Telea and flow per held-out crop) and saving
    reserve = 6.0 + 0.5 * vbank.shape[0]
    base = {"settings": _jsonable(asdict(cfg)), "sources": [s.to_dict() for s in sources]}

    def checkpoint() -> None:
        save_checkpoint(part, net, opt, {**base, **state, "spent": clock.spent})
        emit("checkpoint", {"step": state["step"]})

    if not state["curve"]:
        state["curve"].append([0, validation_loss(net, vbank, vmasks, dev)])
    train_until = clock.start + clock.budget - reserve
    planned = state["train_seconds"] + max(0.0, train_until - time.monotonic())
    last_ckpt = time.monotonic()
    try:
        net.train()
        t_train = time.monotonic()
        done0 = state["train_seconds"]
        first = state["step"]
        while (time.monotonic() < train_until or state["step"] == first) and (
            cfg.steps is None or state["step"] < cfg.steps
        ):
            elapsed = done0 + time.monotonic() - t_train
            frac = elapsed / max(planned, 1e-6) if cfg.steps is None else state["step"] / cfg.steps
            lr = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))
            for g in opt.param_groups:
                g["lr"] = lr
            x, y = make_batch(
                bank, masks, state["step"], cfg.seed, cfg.crop, cfg.batch, cfg.middle_share, dev
            )
            if dev.type == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast(dev):
                out = predict(net, x).float()
            loss = masked_l1(out, y, x[:, 10:11]) + 0.1 * (out - y).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state["step"] += 1
            state["samples"] += cfg.batch
            state["train_seconds"] = done0 + time.monotonic() - t_train
            state["loss"] = float(loss.detach())
            if state["step"] % 20 == 0:
                emit(
                    "train",
                    {
                        "step": state["step"],
                        "loss": state["loss"],
                        "left": clock.left,
                        "samples_per_s": state["samples"] / max(state["train_seconds"], 1e-6),
                    },
                )
            if time.monotonic() - last_ckpt > CHECKPOINT_SECONDS:
                state["curve"].append([state["step"], validation_loss(net, vbank, vmasks, dev)])
                checkpoint()
                last_ckpt = time.monotonic()
    except KeyboardInterrupt:
        checkpoint()
        raise
    state["curve"].append([state["step"], validation_loss(net, vbank, vmasks, dev)])
    checkpoint()
    emit("validate", {"crops": int(vbank.shape[0])})
    net = net.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    scores = score_validation(net, vbank, vmasks, vkinds, dev)
    return _publish(project, part, net, cfg, state, sources, profiles, scores, clock, dev)


def _prepare_data(
    sources: list[Source], cfg: LearnSettings, emit: Hook
) -> tuple[np.ndarray, np.ndarray]:
    deep = any(_bit_depth(s) > 8 for s in sources)
    dtype = "uint16" if deep else "uint8"
    train = [s for s in sources if s.role == "train"]
    val = [s for s in sources if s.role == "validation"]
    total = len(sources)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        emit("data", {"clips": done[0], "total": total})

    emit("data", {"clips": 0, "total": total})
    bank = build_bank(
        train, cfg.moments, cfg.crop + 16, cfg.per_moment, cfg.seed, cfg.workers, dtype, tick
    )
    vbank = build_bank(
        val, cfg.val_moments, cfg.val_crop, 1, cfg.seed + 1, cfg.workers, dtype, tick
    )
    if bank.shape[0] < 8 or vbank.shape[0] < 1:
        raise ModelError(
            f"too little footage to learn from: {bank.shape[0]} training and {vbank.shape[0]} "
            f"validation crops (clips smaller than {cfg.val_crop} px or too short); ingest more"
        )
    return bank, vbank


def _bit_depth(s: Source) -> int:
    return int(s.extra.get("bit_depth", 8))


def _profiles(project: Project, sources: list[Source], emit: Hook) -> dict[str, Any]:
    from rushes.dialect.profiles import build_profiles

    emit("profiles", {})
    return build_profiles(
        project,
        [s.clip_id for s in sources],
        hook=lambda kind, done, total: emit(
            "profiles", {"kind": kind, "done": done, "total": total}
        ),
    )


def _check_sources(project: Project, sources: list[Source]) -> None:
    """A resumed run must see the same clips (same checksums) it started with."""
    from rushes.project import Clip

    with project.session() as s:
        for src in sources:
            clip = s.get(Clip, src.clip_id)
            if clip is None or clip.checksum != src.checksum:
                raise ModelError(
                    f"clip {src.name} changed or left the catalog since the run started; "
                    "start over with 'rushes learn' (without --resume)"
                )


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(d, default=list))


def _publish(
    project: Project,
    part: Path,
    net: PlateNet,
    cfg: LearnSettings,
    state: dict[str, Any],
    sources: list[Source],
    profiles: dict[str, Any],
    scores: dict[str, Any],
    clock: _Clock,
    dev: torch.device,
) -> dict[str, Any]:
    """Write weights, manifest and card into ``part`` and rename it to the next version."""
    from rushes.dialect.profiles import summarize_profiles

    store.save_tensors(
        part / store.WEIGHTS,
        {k: v for k, v in net.state_dict().items()},
        {"format": FORMAT, "config": net.config.to_json()},
    )
    manifest = {
        "clips": [s.to_dict() for s in sources],
        "train_clips": sum(s.role == "train" for s in sources),
        "validation_clips": sum(s.role == "validation" for s in sources),
    }
    store.write_json(part / store.MANIFEST, manifest)
    digest = hashlib.sha256((part / store.MANIFEST).read_bytes()).hexdigest()
    version = store.next_version(project)
    train = [s for s in sources if s.role == "train"]
    minutes_of_footage = sum(s.frames / float(parse_rate(s.fps or "24")) for s in sources) / 60
    card = {
        "version": version,
        "format": "rushes.model.1",
        "created_at": _now(),
        "created_by": project.user,
        "device": state.get("device") or describe(dev),
        "settings": _jsonable(asdict(cfg)),
        "data": {
            "clips": len(sources),
            "train_clips": len(train),
            "validation_clips": len(sources) - len(train),
            "footage_minutes": round(minutes_of_footage, 2),
            "train_frames": sum(s.frames for s in train),
            "train_crops": sum(s.crops for s in train),
            "manifest_sha256": digest,
        },
        "training": {
            "steps": state["step"],
            "samples": state["samples"],
            "seconds": round(state["train_seconds"], 1),
            "samples_per_second": round(state["samples"] / max(state["train_seconds"], 1e-6), 1),
            "final_loss": round(float(state.get("loss", 0.0)), 5),
            "validation_curve": [[int(a), round(float(b), 5)] for a, b in state["curve"]],
        },
        "validation": scores,
        "profiles": summarize_profiles(profiles),
        "wall_seconds": round(clock.spent, 1),
    }
    store.write_json(part / store.CARD, card)
    for name in (BANK_TRAIN, BANK_VAL, CHECKPOINT, STATE):
        (part / name).unlink(missing_ok=True)
    version = store.publish(project, part)
    project.audit("learn", f"model {version}", {"manifest_sha256": digest, "steps": state["step"]})
    return card
