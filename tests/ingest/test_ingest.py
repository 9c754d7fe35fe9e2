"""Ingest end to end: idempotence, moves, changes, bad input, metadata, shots, setups."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from rushes.ingest import ingest
from rushes.ingest.ale import AleFile, write_ale
from rushes.project import Clip, Project, Setup, Shot


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project.init(tmp_path / "film", fps="24")


@pytest.fixture
def dailies(tmp_path: Path, prores10: Path, h264_two_shots: Path, exr_gap: Path) -> Path:
    d = tmp_path / "dailies"
    (d / "day1").mkdir(parents=True)
    shutil.copy(prores10, d / "day1" / prores10.name)
    shutil.copy(h264_two_shots, d / "day1" / h264_two_shots.name)
    shutil.copytree(exr_gap.parent, d / "day1" / "plates")
    (d / "day1" / "notes.txt").write_text("sidecar, skipped")
    return d


def _clips(project: Project) -> dict[str, Clip]:
    with project.session() as s:
        return {c.name: c for c in s.scalars(select(Clip)).all()}


def test_ingest_catalogs_clips_shots_and_is_idempotent(project: Project, dailies: Path) -> None:
    report = ingest(project, [dailies], workers=1)
    assert sorted(report.added) == sorted(
        ["A001C003_230115_R1AB.mov", "B002C001_230116_R2CD.mp4", "plate.%04d.exr"]
    )
    # the EXR sequence with a gap is catalogued, flagged, and named in a warning line
    assert any("1005" in w and "plate" in w for w in report.damaged)
    assert not report.ok
    clips = _clips(project)
    assert clips["plate"].status == "warning" and clips["plate"].frames == 9
    prores = clips["A001C003_230115_R1AB"]
    assert prores.bit_depth == 10 and prores.camera == "A" and prores.roll == "A001"
    assert prores.timecode == "01:00:10:00" and len(prores.checksum) == 16
    with project.session() as s:
        two = s.scalars(
            select(Shot).join(Clip).where(Clip.name == "B002C001_230116_R2CD").order_by(Shot.index)
        ).all()
        assert [(sh.start, sh.end) for sh in two] == [(0, 30), (30, 60)]
        assert two[0].transition_out == "cut"
        assert all(project.path(sh.thumbnail or "").is_file() for sh in two)
        assert s.scalar(select(Setup.id)) is not None
    again = ingest(project, [dailies], workers=1)
    assert again.added == [] and len(again.unchanged) == 3 and again.ok and not again.damaged
    assert len(_clips(project)) == 3


def test_moved_file_is_recognized_by_checksum(project: Project, dailies: Path) -> None:
    ingest(project, [dailies], workers=1)
    old = dailies / "day1" / "A001C003_230115_R1AB.mov"
    new = dailies / "day2" / "renamed.mov"
    new.parent.mkdir()
    os.rename(old, new)
    report = ingest(project, [dailies], workers=1)
    assert report.added == [] and len(report.moved) == 1
    assert _clips(project)["A001C003_230115_R1AB"].path == str(new.resolve())


def test_changed_original_is_flagged_not_replaced(project: Project, dailies: Path) -> None:
    ingest(project, [dailies], workers=1)
    clip = dailies / "day1" / "B002C001_230116_R2CD.mp4"
    before = _clips(project)["B002C001_230116_R2CD"]
    data = bytearray(clip.read_bytes())
    data[-100] ^= 0xFF
    clip.write_bytes(bytes(data))
    report = ingest(project, [dailies], workers=1)
    assert len(report.changed) == 1 and "B002C001" in report.changed[0]
    after = _clips(project)["B002C001_230116_R2CD"]
    assert after.status == "changed" and after.checksum == before.checksum


def test_bad_files_fail_alone(project: Project, dailies: Path, truncated_mov: Path) -> None:
    bad = dailies / "bad"
    bad.mkdir()
    (bad / "empty.mov").write_bytes(b"")
    (bad / "fake.mp4").write_text("not a movie")
    (bad / "script.docx").write_bytes(b"PK\x03\x04")
    shutil.copy(truncated_mov, bad / truncated_mov.name)
    report = ingest(project, [dailies, dailies / "missing"], workers=2)
    assert not report.ok
    text = "\n".join(report.failed)
    for name in ("empty.mov", "fake.mp4", "script.docx", "missing"):
        assert name in text
    assert all("\n" not in line for line in report.failed)
    # the good files and the truncated one (its frames up to the cut) are in
    assert len(report.added) == 4
    assert any("truncated" in w and "C003C001" in w for w in report.damaged)


def test_unreadable_folder_is_reported(
    project: Project, dailies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = dailies / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: object) -> object:  # root ignores chmod, so refuse the way the OS would
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    report = ingest(project, [dailies], workers=1)
    assert any("locked" in f and "permission denied" in f for f in report.failed)
    assert len(report.added) == 3


def test_interrupted_ingest_finishes_on_rerun(project: Project, dailies: Path) -> None:
    def stop_after_first_clip(event: str, n: int, total: int) -> None:
        if event == "clip":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(project, [dailies], workers=1, hook=stop_after_first_clip)
    assert len(_clips(project)) == 1  # the clip that finished is committed, whole
    with project.session() as s:
        assert s.scalars(select(Shot)).all()
    report = ingest(project, [dailies], workers=1)
    assert len(report.added) == 2 and len(report.unchanged) == 1
    assert len(_clips(project)) == 3


def test_ale_metadata_and_unknown_rows(project: Project, dailies: Path, tmp_path: Path) -> None:
    ale = tmp_path / "dailies.ale"
    write_ale(
        ale,
        AleFile(
            heading={"FIELD_DELIM": "TABS", "FPS": "24"},
            columns=["Name", "Scene", "Take", "Camera"],
            rows=[
                {"Name": "A001C003_230115_R1AB", "Scene": "12A", "Take": "3", "Camera": "A"},
                {"Name": "B002C001_230116_R2CD", "Scene": "12A", "Take": "4", "Camera": "B"},
                {"Name": "Z999C999_230199_R0ZZ", "Scene": "99", "Take": "1", "Camera": "Z"},
            ],
        ),
    )
    report = ingest(project, [dailies], ale=ale, workers=1)
    clips = _clips(project)
    assert (clips["A001C003_230115_R1AB"].scene, clips["A001C003_230115_R1AB"].take) == ("12A", "3")
    assert clips["B002C001_230116_R2CD"].take == "4"
    assert any("Z999C999" in f and "dailies.ale" in f for f in report.failed)


def test_originals_are_never_written(project: Project, dailies: Path) -> None:
    files = sorted(p for p in dailies.rglob("*") if p.is_file())
    stamps = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in files}
    for p in files:
        p.chmod(0o444)
    ingest(project, [dailies], workers=1)
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in files} == stamps
    assert sorted(p for p in dailies.rglob("*") if p.is_file()) == files
