"""Media layer: probing, reading (precision, random access), sequences, writers, bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rushes.errors import MediaError, UnsupportedMediaError
from rushes.media import (
    fit_size,
    group_sequences,
    open_media,
    spec_from_pattern,
    write_exr_sequence,
    xxh64_file,
)


def test_prores_10bit_keeps_precision(prores10: Path) -> None:
    r = open_media(prores10)
    assert r.info.codec == "prores"
    assert r.info.bit_depth == 10
    assert r.info.fps == Fraction(24000, 1001)
    assert r.info.timecode == "01:00:10:00"
    assert r.info.frames == 12
    f = r.read(3)
    assert f.dtype == np.float32 and f.shape == (64, 256, 3)
    # 256 steps over 0.1 of range: 8 bits would give ~26 levels, 10 bits ~100
    levels = len(np.unique(np.round(f[32, :, 1] * 65535)))
    assert levels > 60, levels
    expected = np.linspace(0.40, 0.50, 256) + 0.003
    assert np.abs(f[32, :, 1] - expected).max() < 2e-3


def test_random_access_matches_sequential(h264_two_shots: Path) -> None:
    r = open_media(h264_two_shots)
    seq = {i: f for i, f in r.iter_frames(20, 40)}
    assert sorted(seq) == list(range(20, 40))
    for i in (35, 21, 39, 20):
        assert np.array_equal(r.read(i), seq[i])
    with pytest.raises(IndexError):
        r.read(60)


def test_chunks_cover_range(h264_two_shots: Path) -> None:
    r = open_media(h264_two_shots)
    got = [(first, c.shape) for first, c in r.iter_chunks(chunk=16, size=(160, 90))]
    assert [g[0] for g in got] == [0, 16, 32, 48]
    assert got[-1][1] == (12, 90, 160, 3)


def test_exr_sequence_gap_detected_and_values_kept(exr_gap: Path) -> None:
    r = open_media(exr_gap)
    assert r.info.kind == "sequence"
    assert r.info.missing == [1005]
    assert r.info.first_frame == 1001 and r.info.frames == 9
    assert r.info.fps == Fraction(24) and r.info.bit_depth == 16
    assert r.read(0).max() > 1.5  # scene-linear values above 1 are not clipped
    # hash patterns and a member path find the same files
    hashes = spec_from_pattern(exr_gap.parent / "plate.####.exr")
    member = spec_from_pattern(exr_gap.parent / "plate.1001.exr")
    assert hashes.numbers == member.numbers and len(hashes.numbers) == 9


def test_group_sequences_and_stills(tmp_path: Path) -> None:
    files = [tmp_path / f"shot_{i:04d}.png" for i in (1, 2, 3)]
    files += [tmp_path / "poster.png", tmp_path / "other_0007.png"]
    seqs, stills = group_sequences(files)
    assert len(seqs) == 1 and seqs[0].numbers == (1, 2, 3) and seqs[0].padding == 4
    assert sorted(p.name for p in stills) == ["other_0007.png", "poster.png"]


def test_truncated_movie_reads_what_is_there(truncated_mov: Path) -> None:
    r = open_media(truncated_mov)  # index at the front: the frames present still decode
    n = sum(1 for _ in r.iter_frames_u8(size=(64, 36)))
    assert 0 < n < 60


def test_truncated_movie_without_index_is_a_clear_error(tmp_path: Path) -> None:
    import av

    from tests.conftest import textured

    src = tmp_path / "full.mov"
    with av.open(str(src), "w") as c:  # index (moov) written last, as cameras do
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for t in range(24):
            img = (textured(48, 64, 3, t) * 255).astype(np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    cut = tmp_path / "A009C001_230120_R9ZZ.mov"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
    with pytest.raises(MediaError, match="truncated"):
        open_media(cut)


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("empty.mov", b"", MediaError),
        ("notes.mov", b"this is not a movie at all\n" * 20, MediaError),
        ("garbage.exr", b"\x00\x01garbage" * 50, UnsupportedMediaError),
        ("weird.xyz", b"\x00" * 100, UnsupportedMediaError),
    ],
)
def test_bad_files_raise_one_line_naming_the_file(
    tmp_path: Path, name: str, content: bytes, error: type[Exception]
) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(error) as e:
        open_media(p)
    assert name in str(e.value) and "\n" not in str(e.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        open_media(tmp_path / "nope.mov")


def test_exr_round_trip_half(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = (rng.random((20, 30, 3)) * 8).astype(np.float32)
    (path,) = write_exr_sequence([frame], tmp_path / "rt.%04d.exr", first_frame=1)
    back = open_media(path).read(0)
    assert np.allclose(back, frame, rtol=1e-3, atol=1e-3)
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_checksum_is_xxh64(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(b"rushes")
    import xxhash

    assert xxh64_file(p) == xxhash.xxh64(b"rushes").hexdigest()


def test_fit_size() -> None:
    assert fit_size(1920, 1080, 320) == (320, 180)
    assert fit_size(100, 50, 320) == (100, 50)
    assert fit_size(720, 1280, 320) == (180, 320)


@pytest.mark.footage
def test_shared_footage_probes(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    for name in ("juggle_sam2", "running_car", "bmx-trees"):
        m = manifest[name]
        src = footage / m["path"]
        r = open_media(src if m["kind"] == "video" else spec_from_pattern(_first(src)))
        assert (r.info.width, r.info.height) == (m["width"], m["height"])
        assert r.info.frames == m["frames"]
        if m["fps"]:
            assert abs(float(r.info.fps or 0) - m["fps"]) < 0.01
        f = r.read(r.info.frames // 2, size=(160, 90))
        assert f.shape == (90, 160, 3) and f.min() >= 0 and f.max() <= 1


def _first(folder: Path) -> Path:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))[0]


def test_dpx_10bit_sequence_keeps_precision(tmp_path: Path) -> None:
    import OpenImageIO as oiio

    ramp = np.linspace(0.40, 0.50, 256, dtype=np.float32)
    for n in (1, 2, 3):
        spec = oiio.ImageSpec(256, 8, 3, "uint16")
        spec.attribute("oiio:BitsPerSample", 10)
        out = oiio.ImageOutput.create(str(tmp_path / f"scan.{n:07d}.dpx"))
        assert out.open(str(tmp_path / f"scan.{n:07d}.dpx"), spec)
        out.write_image(np.ascontiguousarray(np.tile(ramp[None, :, None], (8, 1, 3))))
        out.close()
    r = open_media(tmp_path / "scan.#######.dpx")
    assert r.info.codec == "dpx" and r.info.bit_depth == 10 and r.info.frames == 3
    row = r.read(1)[4, :, 0]
    assert len(np.unique(row)) > 60  # 10-bit levels, not 8-bit
    assert np.abs(row - ramp).max() < 1e-3
