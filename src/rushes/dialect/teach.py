"""Teach by example: fine-tune the plate network on a few before/after frames an artist made by
hand (a painted-out rig, a roto matte on keyframes, a local colour fix) and apply the effect to
every frame of a shot (``rushes teach``, then ``rushes fix apply-taught``).

The network is the plate network's architecture (:class:`~rushes.dialect.net.PlateNet`),
started from the current project model's weights when there is one (else from a seeded fresh
init, which the card and a warning say), with its head replaced by a fresh convolution whose
weights are zero, so the taught network starts as the identity:

- RGB effects: ``out = before + head(features(x))`` (3-channel head; starts as ``before``);
- matte effects: ``matte = sigmoid(head(features(x)))`` (1-channel head, ``out_channels=1``;
  its bias starts at :data:`MATTE_BIAS`, an empty matte).

The input ``x`` uses the plate network's 12-channel layout with the before frame in the
previous, this and next RGB slots (channels 0-8) and the three mask channels (9-11) zero: a
whole, known frame with nothing to fill.

Training takes random crops (:data:`CROP` px, three in four placed over pixels the artist
changed, the rest anywhere so that clean areas are learned to be left alone), random flips, a
mean squared error for RGB effects (an L1 loss does not learn a sparse change: the many
unchanged pixels' constant-size gradients drown the few changed ones; measured on 3 marker
pairs: L1 gained 0.0 dB in 150 steps where the squared error gained 7-8 dB) and binary
cross-entropy + L1 for mattes,
Adam with a cosine-decayed learning rate and gradient clipping, for ``minutes`` of wall clock
(checked every step) or ``max_steps`` steps, seeded (``torch.manual_seed`` and a numpy
``Generator``); channels-last on the CPU, bfloat16 autocast on CUDA. Without a project model
the body is He-initialised (torch's default init shrinks activations ~50x through the U-Net,
which a zero head then takes thousands of steps to make up for).

Before training the examples are checked (:mod:`rushes.dialect.teach_data`): counts and sizes
must match; fewer than 3 pairs, near-identical frames and too small a change draw warnings;
a pair whose change (``|after - before|`` energy) concentrates on a detected face is refused
(:class:`~rushes.errors.TeachError`): rushes does not learn to alter performances. Matte
effects change no pixel and are not checked for faces (an operation that uses a matte is
guarded on its own).

On disk (``models/taught/<name>/``, written as ``.<name>.partial`` and renamed, so a
half-written effect never exists)::

    card.json            # name, output, base model, examples (paths + xxh64), size, shot,
                         # minutes, steps, seed, loss, PSNR before/after, warnings, who/when
    weights.safetensors  # format "rushes.taught.1"; metadata: NetConfig JSON, output kind

Example:
    >>> card = teach(project, "rig-A", "ex/before/%04d.png", "ex/after/%04d.png",
    ...              minutes=2)                                     # doctest: +SKIP
    >>> model = load_taught(project, "rig-A")                       # doctest: +SKIP
    >>> fixed = apply_taught(model, frame)                          # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rushes.analysis.people import detect_people
from rushes.compute.device import autocast, describe, pick_device
from rushes.dialect.net import NetConfig, PlateNet, pad_to_multiple
from rushes.dialect.plate import load_net
from rushes.dialect.store import (
    WEIGHTS,
    latest_version,
    models_dir,
    read_json,
    save_tensors,
    version_dir,
    write_json,
)
from rushes.dialect.teach_data import (
    OUTPUTS,
    TAUGHT_CARD,
    TAUGHT_FORMAT,
    TAUGHT_WEIGHTS,
    Pair,
    check_name,
    crop_size,
    example_files,
    example_warnings,
    list_taught,
    read_pairs,
    sample_batch,
    taught_dir,
    taught_root,
)
from rushes.dialect.tensors import to_numpy, to_tensor
from rushes.errors import ModelError, TeachError
from rushes.media import xxh64_file
from rushes.project import Project

__all__ = [
    "FORMAT",
    "OUTPUTS",
    "TaughtModel",
    "apply_taught",
    "check_faces",
    "example_files",
    "list_effects",
    "load_taught",
    "load_taught_file",
    "read_effect_card",
    "teach",
]

FORMAT = TAUGHT_FORMAT

CROP = 96
"""Training crop side, pixels (one size: a new size costs oneDNN a new plan, ~1 s on a CPU)."""

BATCH = 8
"""Crops per step."""

LR = 1e-3
"""Adam's starting learning rate (cosine-decayed to a tenth over the budget)."""

CLIP = 1.0
"""Gradient norm clip (a safety net against a diverging step)."""

ON_CHANGE = 0.75
"""Share of crops placed over changed pixels."""

MATTE_BIAS = -4.0
"""Starting bias of a matte head: sigmoid(-4) = 0.018, an (almost) empty matte."""

FACE_SHARE = 0.5
"""A pair with more than this share of its change energy on faces is refused..."""

FACE_CONCENTRATION = 2.0
"""...when that share is also this many times the faces' share of the frame (a change spread
evenly over a close-up, a grade, is not concentrated on the face)."""

FACE_LONG_SIDE = 640
"""Faces are looked for on the examples scaled to this long side."""

MAX_EVAL = 16
"""Examples the card's PSNR is measured on (the first ones)."""

TILE = 512
"""Frames larger than this are processed in tiles of this side..."""

OVERLAP = 32
"""...overlapping by this many pixels, blended linearly."""

Progress = Callable[[int, float, float], None]
"""``(step, loss, elapsed seconds)``, called after every training step."""


# --------------------------------------------------------------------------------------------
# the network


def _forward(net: PlateNet, before: torch.Tensor) -> torch.Tensor:
    """Raw head output for ``before`` ``(N, 3, H, W)`` (H, W multiples of 8): the correction
    (RGB) or the matte's logits."""
    x = torch.cat([before, before, before, torch.zeros_like(before)], 1)
    return net.head(net.features(x))


def _output(net: PlateNet, before: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    if net.config.out_channels == 1:
        return torch.sigmoid(raw)
    return before + raw


def _fresh_head(net: PlateNet, output: str) -> None:
    nn.init.zeros_(net.head.weight)
    assert net.head.bias is not None
    nn.init.constant_(net.head.bias, MATTE_BIAS if output == "matte" else 0.0)


def _he_init(net: PlateNet) -> None:
    """He (Kaiming) init for the leaky ReLUs, zero biases: activations keep their scale
    through the layers (torch's default init shrinks them ~50x by the last feature map, which
    a zero head would then need thousands of steps to make up for)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, a=0.1, nonlinearity="leaky_relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _start_net(project: Project, output: str, seed: int) -> tuple[PlateNet, str | None]:
    """The network to fine-tune: the current plate network's body (or a seeded fresh init)
    with a fresh identity head."""
    channels = 1 if output == "matte" else 3
    torch.manual_seed(seed)
    version = latest_version(project)
    if version is None:
        net = PlateNet(NetConfig(out_channels=channels))
        _he_init(net)
    else:
        plate, _ = load_net(version_dir(project, version) / WEIGHTS)
        net = PlateNet(NetConfig(widths=plate.config.widths, out_channels=channels))
        body = {k: v for k, v in plate.state_dict().items() if not k.startswith("head.")}
        missing, unexpected = net.load_state_dict(body, strict=False)
        if unexpected or any(not k.startswith("head.") for k in missing):
            raise ModelError(
                f"the plate network of model {version} does not fit a taught network; learn again"
            )
    _fresh_head(net, output)
    return net, version


# --------------------------------------------------------------------------------------------
# performer guard


def _face_boxes(img: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes ``(x0, y0, x1, y1)`` in pixels of ``img``, grown by a quarter."""
    import cv2

    h, w = img.shape[:2]
    s = min(1.0, FACE_LONG_SIDE / max(h, w))
    small = img.astype(np.float32)
    if s < 1.0:
        small = np.asarray(
            cv2.resize(small, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA),
            np.float32,
        )
    boxes = []
    for d in detect_people(np.clip(small, 0.0, 1.0), faces=True, bodies=False):
        x, y, bw, bh = d.x - d.w / 8, d.y - d.h / 8, d.w * 1.25, d.h * 1.25
        x0, y0 = max(0, round(x * w)), max(0, round(y * h))
        x1, y1 = min(w, round((x + bw) * w)), min(h, round((y + bh) * h))
        if x1 > x0 and y1 > y0:
            boxes.append((x0, y0, x1, y1))
    return boxes


def check_faces(pairs: list[Pair]) -> None:
    """Refuse pairs whose change concentrates on a performer's face.

    The change energy of a pair is ``sum |after - before|^2`` over pixels and channels; faces
    are found on the before and the after frame (Haar cascades of
    :mod:`rushes.analysis.people`, boxes grown by a quarter). A pair is refused when more than
    :data:`FACE_SHARE` of its energy lies in face boxes and that share is at least
    :data:`FACE_CONCENTRATION` times the boxes' share of the frame.

    Raises:
        TeachError: names the pair's after file, the share and the face box.
    """
    for p in pairs:
        b = p.before.astype(np.float32)
        a = p.after.astype(np.float32)
        energy = ((a - b) ** 2).sum(axis=2)
        total = float(energy.sum())
        if total <= 1e-6:
            continue
        boxes = _face_boxes(b) + _face_boxes(a)
        if not boxes:
            continue
        on_face = np.zeros(energy.shape, bool)
        for x0, y0, x1, y1 in boxes:
            on_face[y0:y1, x0:x1] = True
        share = float(energy[on_face].sum()) / total
        area = float(on_face.mean())
        if share > FACE_SHARE and share >= FACE_CONCENTRATION * area:
            x0, y0, x1, y1 = max(boxes, key=lambda r: float(energy[r[1] : r[3], r[0] : r[2]].sum()))
            raise TeachError(
                f"{p.after_path}: {100 * share:.0f}% of its change from {p.before_path.name} is "
                f"on a performer's face (at {x0},{y0} {x1 - x0}x{y1 - y0}); rushes does not learn "
                "to alter performances: keep the examples' changes off faces and mouths"
            )


# --------------------------------------------------------------------------------------------
# training


def _lr(step: int, elapsed: float, budget: float, max_steps: int | None) -> float:
    frac = elapsed / budget if budget > 0 else 1.0
    if max_steps:
        frac = max(frac, step / max_steps)
    return LR * (0.1 + 0.45 * (1.0 + math.cos(math.pi * min(frac, 1.0))))


def _train(
    net: PlateNet,
    pairs: list[Pair],
    output: str,
    minutes: float,
    max_steps: int | None,
    crop: int,
    device: torch.device,
    seed: int,
    progress: Progress | None,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    cuda = device.type == "cuda"
    net.to(device).train()
    if not cuda:
        net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    budget = max(0.0, minutes * 60.0)
    losses: list[float] = []
    step = 0
    t0 = time.monotonic()
    elapsed = 0.0
    while True:
        for group in opt.param_groups:
            group["lr"] = _lr(step, elapsed, budget, max_steps)
        size = crop_size(pairs, crop)
        b_np, a_np = sample_batch(pairs, rng, BATCH, size, ON_CHANGE)
        b = to_tensor(b_np, device)
        a = to_tensor(a_np, device)
        if not cuda:
            b = b.contiguous(memory_format=torch.channels_last)
        with autocast(device):
            raw = _forward(net, b)
        raw = raw.float()
        if output == "matte":
            loss = F.binary_cross_entropy_with_logits(raw, a) + F.l1_loss(torch.sigmoid(raw), a)
        else:
            loss = F.mse_loss(b + raw, a)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), CLIP)
        opt.step()
        step += 1
        value = float(loss.detach())
        if not math.isfinite(value):
            raise ModelError(
                f"training diverged at step {step} (loss {value}); try again with another --seed"
            )
        losses.append(value)
        elapsed = time.monotonic() - t0
        if progress is not None:
            progress(step, value, elapsed)
        if elapsed >= budget or (max_steps is not None and step >= max_steps):
            break
    net.eval()
    tail = losses[-max(1, min(20, len(losses) // 5)) :]
    return {
        "steps": step,
        "seconds": round(elapsed, 2),
        "steps_per_second": round(step / max(elapsed, 1e-9), 3),
        "loss": round(float(np.mean(tail)), 6),
        "first_loss": round(losses[0], 6),
    }


WORSE_DB = 0.1
"""An RGB effect whose output is further from the examples' targets than the untouched frames by
more than this (PSNR, dB) is not kept: it would do more harm than nothing."""


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return round(10.0 * math.log10(1.0 / max(mse, 1e-10)), 3)


def _scores(model: TaughtModel, pairs: list[Pair]) -> dict[str, Any]:
    """PSNR (dB) of the examples before and after training; IoU for mattes."""
    before, after, ious = [], [], []
    for p in pairs[:MAX_EVAL]:
        b = p.before.astype(np.float32)
        target = p.after.astype(np.float32)
        got = apply_taught(model, b)
        if model.output == "matte":
            before.append(_psnr(np.zeros_like(target), target))
            inter = np.logical_and(got > 0.5, target > 0.5).sum()
            union = np.logical_or(got > 0.5, target > 0.5).sum()
            ious.append(float(inter / union) if union else 1.0)
        else:
            before.append(_psnr(b, target))
        after.append(_psnr(got, target))
    out: dict[str, Any] = {
        "pairs": len(before),
        "psnr_before": round(float(np.mean(before)), 3),
        "psnr_after": round(float(np.mean(after)), 3),
    }
    if ious:
        out["iou"] = round(float(np.mean(ious)), 4)
    return out


# --------------------------------------------------------------------------------------------
# the facade


def teach(
    project: Project,
    name: str,
    before: str | Path,
    after: str | Path,
    shot: str | None = None,
    minutes: float = 5.0,
    output: str = "rgb",
    device: str = "auto",
    seed: int = 0,
    force: bool = False,
    progress: Progress | None = None,
    max_steps: int | None = None,
    crop: int = CROP,
    keep_worse: bool = False,
) -> dict[str, Any]:
    """Teach the effect ``name`` from before/after example frames.

    Args:
        project: the open project (its current model is the starting point).
        name: the effect's name (letters, digits, ``-``, ``_``).
        before: the frames as shot: a pattern (``ex/before/%04d.png``, ``####``), a folder of
            images or one image; display or log encoding, [0, 1] (see
            :mod:`rushes.dialect.teach_data`).
        after: the same frames as the artist fixed them (RGB), or their mattes (``output=
            "matte"``), in the same order.
        shot: the shot the effect is for (name or id): examples must have its size.
        minutes: training budget, wall clock.
        output: ``"rgb"`` (a fixed frame) or ``"matte"`` (a single-channel matte).
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: seeds the fresh init (without a project model), the crops and the training.
        force: replace an existing effect of this name.
        progress: called after each step with ``(step, loss, elapsed seconds)``.
        max_steps: stop after this many steps even within the budget (tests, benchmarks).
        crop: training crop side, pixels (32-512; smaller is faster per step, larger sees more
            context).
        keep_worse: keep an RGB effect even when it ends further from its own examples than
            the untouched frames (a warning on its card instead of the refusal).

    Returns:
        The effect's card (also stored as ``models/taught/<name>/card.json``); ``warnings``
        lists what may keep it from generalizing.

    Raises:
        TeachError: a bad name, an existing effect without ``force``, examples that differ in
            count or size, a change on a performer's face; an RGB effect that ends further
            from its own examples than the untouched frames (:data:`WORSE_DB`).
        ModelError: an unusable project model.
        DeviceError: ``device="cuda"`` without a GPU.
    """
    check_name(name)
    if output not in OUTPUTS:
        raise TeachError(f"output '{output}' unknown; use one of {', '.join(OUTPUTS)}")
    if not minutes > 0 or not math.isfinite(minutes):
        raise TeachError(f"--minutes {minutes} is not a training budget; give a positive number")
    if max_steps is not None and max_steps < 1:
        raise TeachError(f"--steps {max_steps}: give at least 1")
    if not 32 <= crop <= 512:
        raise TeachError(f"--crop {crop}: give a crop side from 32 to 512 pixels")
    models = models_dir(project)
    root = taught_root(models)
    final = root / name
    if final.exists() and not force:
        raise TeachError(
            f"a taught effect '{name}' exists ({final}); pass --force to replace it, "
            "or pick another name"
        )
    dev = pick_device(device)
    size = None
    shot_name = None
    if shot is not None:
        from rushes.project import query

        with project.session() as s:
            row = query.find_shot(s, shot)
            shot_name = row.name
            size = (int(row.clip.width), int(row.clip.height))
    pairs = read_pairs(before, after, output, size=size, seed=seed)
    if output == "rgb":
        check_faces(pairs)
    warnings = example_warnings(pairs, output)
    net, base = _start_net(project, output, seed)
    if base is None:
        warnings.append(
            "no project model yet: the effect starts from a fresh network and needs more "
            "examples and time; run 'rushes learn' first for a better start"
        )
    run = _train(net, pairs, output, minutes, max_steps, crop, dev, seed, progress)
    model = TaughtModel(name=name, output=output, net=net, device=dev, card={}, checksum="")
    scores = _scores(model, pairs)
    if output == "rgb" and scores["psnr_after"] < scores["psnr_before"] - WORSE_DB:
        worse = (
            f"'{name}' makes its own examples worse ({scores['psnr_before']:.2f} dB as shot, "
            f"{scores['psnr_after']:.2f} dB with the effect, after {run['steps']} steps)"
        )
        if not keep_worse:
            raise TeachError(
                f"{worse}: not kept; give it more time (--minutes), more or more varied "
                "examples, or a project model to start from ('rushes learn'); --keep-worse "
                "keeps it anyway"
            )
        warnings.append(f"{worse}; kept because --keep-worse was given")

    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{name}.partial"
    if partial.exists():
        shutil.rmtree(partial)  # a killed run's leftovers
    partial.mkdir()
    try:
        weights = partial / TAUGHT_WEIGHTS
        save_tensors(
            weights,
            net.state_dict(),
            {"format": FORMAT, "config": net.config.to_json(), "output": output, "name": name},
        )
        card: dict[str, Any] = {
            "name": name,
            "format": FORMAT,
            "output": output,
            "base_model": base,
            "examples": [
                {
                    "before": str(p.before_path.resolve()),
                    "after": str(p.after_path.resolve()),
                    "before_xxh64": xxh64_file(p.before_path),
                    "after_xxh64": xxh64_file(p.after_path),
                }
                for p in pairs
            ],
            "size": list(pairs[0].size),
            "shot": shot_name,
            "minutes": minutes,
            "max_steps": max_steps,
            "crop": list(crop_size(pairs, crop)),
            "seed": seed,
            "device": describe(dev),
            "config": net.config.to_json(),
            "input": "before frame in channels 0-8 (prev/this/next), masks 9-11 zero",
            **run,
            "scores": scores,
            "weights": TAUGHT_WEIGHTS,
            "weights_xxh64": xxh64_file(weights),
            "warnings": warnings,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "created_by": project.user,
        }
        write_json(partial / TAUGHT_CARD, card)
        _publish(partial, final, force)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    project.audit(
        "teach",
        f"effect {name}",
        {"output": output, "pairs": len(pairs), "steps": run["steps"], "base_model": base},
    )
    return card


def _publish(partial: Path, final: Path, force: bool) -> None:
    """Rename the complete ``partial`` folder to ``final`` (replacing it with ``force``)."""
    if final.exists():
        if not force:
            raise TeachError(f"a taught effect '{final.name}' appeared meanwhile ({final})")
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        partial.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        partial.rename(final)


# --------------------------------------------------------------------------------------------
# loading and applying


@dataclass
class TaughtModel:
    """A loaded taught effect.

    Attributes:
        name: the effect's name.
        output: ``"rgb"`` or ``"matte"``.
        net: the network (eval mode, on ``device``).
        device: where it runs.
        card: its card (empty while teaching).
        checksum: xxh64 of the weights file it was loaded from.
    """

    name: str
    output: str
    net: PlateNet
    device: torch.device
    card: dict[str, Any]
    checksum: str


def list_effects(project: Project) -> list[str]:
    """Names of the project's taught effects."""
    return list_taught(models_dir(project))


def read_effect_card(project: Project, name: str) -> dict[str, Any]:
    """The card of the taught effect ``name``.

    Raises:
        TeachError: a bad name or no such effect.
    """
    return read_json(taught_dir(models_dir(project), name) / TAUGHT_CARD)


def load_taught_file(
    path: Path, device: str = "auto", name: str | None = None, checksum: str | None = None
) -> TaughtModel:
    """A taught network from its safetensors file.

    Args:
        path: the ``weights.safetensors`` file.
        device: ``auto``, ``cpu`` or ``cuda``.
        name: the effect's name (default: the file's metadata).
        checksum: the xxh64 the file must have (a proposal's record), or ``None``.

    Raises:
        ModelError: missing, corrupt, pickled or foreign file (never unpickled), weights that
            do not fit, or a checksum that differs.
    """
    path = Path(path)
    actual = xxh64_file(path) if path.is_file() else ""
    if checksum is not None and actual and actual != checksum:
        raise ModelError(
            f"{path}: its checksum differs from the one recorded ({checksum}); the effect "
            "changed since it was proposed: propose again"
        )
    net, meta = load_net(path, expect_format=FORMAT)
    output = meta.get("output")
    channels = {"rgb": 3, "matte": 1}.get(str(output))
    if channels is None or net.config.out_channels != channels:
        raise ModelError(
            f"{path}: output kind {output!r} does not fit its network "
            f"({net.config.out_channels} channels); teach the effect again"
        )
    dev = pick_device(device)
    return TaughtModel(
        name=name or meta.get("name", path.parent.name),
        output=str(output),
        net=net.to(dev).eval(),
        device=dev,
        card={},
        checksum=actual,
    )


def load_taught(project: Project, name: str, device: str = "auto") -> TaughtModel:
    """The taught effect ``name`` of ``project``.

    Raises:
        TeachError: no such effect.
        ModelError: unusable weights (see :func:`load_taught_file`).
    """
    folder = taught_dir(models_dir(project), name)
    card = read_json(folder / TAUGHT_CARD)
    model = load_taught_file(folder / TAUGHT_WEIGHTS, device, name, card.get("weights_xxh64"))
    model.card = card
    return model


def _starts(n: int, tile: int, overlap: int) -> list[int]:
    if n <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, n - tile, step))
    return [*starts, n - tile]


def _ramp(n: int, start: int, length: int, overlap: int) -> np.ndarray:
    """1-D blending weight of a tile: rising over ``overlap`` pixels at inner edges."""
    w = np.ones(length, np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 1.0) / (overlap + 1.0)
    k = min(overlap, length)
    if start > 0:
        w[:k] = np.minimum(w[:k], ramp[:k])
    if start + length < n:
        w[length - k :] = np.minimum(w[length - k :], ramp[:k][::-1])
    return w


@torch.no_grad()
def _run(model: TaughtModel, img: np.ndarray) -> np.ndarray:
    """The network on one image/tile: ``(h, w, 3)`` -> ``(h, w, C)`` float32."""
    dev = model.device
    t, h, w = pad_to_multiple(to_tensor(img[None], dev))
    if dev.type != "cuda":
        t = t.contiguous(memory_format=torch.channels_last)
    with autocast(dev):
        raw = _forward(model.net, t)
    out = _output(model.net, t, raw.float())
    return to_numpy(out[..., :h, :w])[0]


def apply_taught(
    model: TaughtModel, frame: np.ndarray, tile: int = TILE, overlap: int = OVERLAP
) -> np.ndarray:
    """Apply a taught effect to one frame.

    Frames larger than ``tile`` are processed in overlapping tiles blended linearly, so memory
    does not grow with the frame size beyond one tile's activations.

    Args:
        model: a loaded effect (:func:`load_taught`).
        frame: the frame in the encoding the effect was taught in (the clip's own display or
            log encoding, or ACEScct for scene-linear clips), [0, 1].
        tile: tile side, pixels (a multiple of 8 is best).
        overlap: overlap of neighbouring tiles, pixels.

    Returns:
        RGB effects: the fixed frame, float32 ``(H, W, 3)`` clipped to [0, 1]; matte effects:
        the matte, float32 ``(H, W)`` in [0, 1].

    Raises:
        ValueError: a frame that is not ``(H, W, 3)``, or holds NaN or infinite values.

    Shape:
        frame: ``(H, W, 3)`` float32 -> ``(H, W, 3)`` or ``(H, W)`` float32.
    """
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame has shape {frame.shape}; give (H, W, 3)")
    if not np.isfinite(frame).all():
        raise ValueError("frame holds NaN or infinite values")
    img = np.clip(np.asarray(frame, np.float32), 0.0, 1.0)
    if overlap < 0 or tile <= 2 * overlap:
        raise ValueError(f"tile {tile} must exceed twice the overlap {overlap}")
    h, w = img.shape[:2]
    if h <= tile and w <= tile:
        out = _run(model, img)
    else:
        out = np.zeros((h, w, model.net.config.out_channels), np.float32)
        weight = np.zeros((h, w, 1), np.float32)
        for y0 in _starts(h, tile, overlap):
            th = min(tile, h - y0)
            wy = _ramp(h, y0, th, overlap)
            for x0 in _starts(w, tile, overlap):
                tw = min(tile, w - x0)
                wgt = (wy[:, None] * _ramp(w, x0, tw, overlap)[None, :])[..., None]
                out[y0 : y0 + th, x0 : x0 + tw] += (
                    _run(model, img[y0 : y0 + th, x0 : x0 + tw]) * wgt
                )
                weight[y0 : y0 + th, x0 : x0 + tw] += wgt
        out /= weight
    out = np.clip(out, 0.0, 1.0)
    return out[..., 0] if model.output == "matte" else out
