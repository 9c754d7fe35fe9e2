"""Render provenance: the manifest a render writes (every file hashed, recorded in the catalog),
verification that names what changed (a byte, a parameter, a missing file, an unknown
manifest), ``rushes provenance``, and C2PA signing of delivered movies."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import typer
from pydantic import BaseModel
from sqlalchemy import select
from typer.testing import CliRunner

from rushes.cli.provenance import provenance
from rushes.guard import c2pa_sign
from rushes.guard.decisions import decide
from rushes.guard.provenance import (
    SCHEMA,
    SIDECAR,
    OutputHasher,
    ProvenanceError,
    content_sha256,
    diff_fields,
    hash_as_written,
    model_entry,
    verify,
)
from rushes.ingest import ingest
from rushes.media import write_exr_sequence, write_prores
from rushes.ops.base import Chunks, Operation, Plan
from rushes.ops.proposals import propose
from rushes.ops.registry import BUILTINS
from rushes.ops.render import render_proposal
from rushes.project import AuditEvent, Clip, Project, Shot
from tests.conftest import textured

CLIP = "A001C003_230115_R1AB"
N, H, W = 6, 64, 96


class TintParams(BaseModel):
    """Parameters of the test operation."""

    gain: float = 1.5
    radius: int = 12


class Tint(Operation):
    """A masked, non-synthesizing test operation: brightens a box (its matte)."""

    name: ClassVar[str] = "tint"
    version: ClassVar[str] = "tint.1"
    Params: ClassVar[type[BaseModel]] = TintParams
    touches: ClassVar[str] = "masked"

    def plan(self, shot: Shot, params: BaseModel, project: Project) -> Plan:
        assert isinstance(params, TintParams)
        return Plan(
            self.name, self.version, shot.id, params.model_dump(), {"box": [40, 20, 16, 12]}
        )

    def matte(self, plan: Plan) -> Callable[[int], np.ndarray]:
        x, y, w, h = plan.result["box"]
        m = np.zeros((H, W), np.float32)
        m[y : y + h, x : x + w] = 1.0
        return lambda i: m

    def run(self, plan: Plan, chunks: Chunks, colorspace: str) -> Chunks:
        m = self.matte(plan)(0)[None, :, :, None]
        g = float(plan.params["gain"])
        for first, block in chunks:
            yield first, block * (1 + (g - 1) * m)


@pytest.fixture(autouse=True)
def _tint_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BUILTINS, "tint", Tint)


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("prov")
    dailies = root / "dailies"
    dailies.mkdir()
    frames = [textured(H, W, 5, t) for t in range(N)]
    write_prores(frames, dailies / f"{CLIP}.mov", fps=Fraction(24), timecode="01:00:10:00")
    project = Project.init(root / "film", fps="24")
    assert ingest(project, [dailies], workers=1).ok
    pid, _, verdict = propose(project, Tint(), CLIP, TintParams())
    assert verdict.allowed
    decide(project, pid, "approved", "box is clean")
    return {"project": project, "pid": pid, "root": root}


def _render(film: dict[str, Any], fmt: str, out: Path) -> dict[str, Any]:
    return render_proposal(film["project"], film["pid"], fmt, out)


def _flip(path: Path, at: float = 0.6) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x5A
    path.write_bytes(bytes(data))


def _edit(sidecar: Path, change: Callable[[dict[str, Any]], None]) -> None:
    m = json.loads(sidecar.read_text())
    change(m)
    sidecar.write_text(json.dumps(m, indent=2))


# --------------------------------------------------------------------------------------------
# The manifest a render writes


def test_exr_render_manifest_lists_every_file_and_is_in_the_catalog(
    film: dict[str, Any], tmp_path: Path
) -> None:
    project: Project = film["project"]
    out = tmp_path / "exr"
    m = _render(film, "exr", out)
    assert m["schema"] == SCHEMA and len(m["id"]) == 32
    with project.session() as s:
        clip = s.scalar(select(Clip).where(Clip.name == CLIP))
        assert clip is not None
        assert m["source"]["checksum"] == clip.checksum and m["source"]["checksum_alg"] == "xxh64"
    assert (m["source"]["start"], m["source"]["end"], m["source"]["frames"]) == (0, N, N)
    assert m["source"]["timecode"] == "01:00:10:00"
    p = m["proposal"]
    assert (p["id"], p["op"], p["version"], p["status"]) == (
        film["pid"],
        "tint",
        "tint.1",
        "approved",
    )
    assert p["params"] == {"gain": 1.5, "radius": 12}
    (d,) = p["decisions"]
    assert d["verdict"] == "approved" and d["note"] == "box is clean" and d["by"] and d["at"]
    assert m["model"] is None and m["output"]["colorspace"] == "ACEScg"
    # every written file, relative to the sidecar, with its size and sha256: 6 frames, 6 mattes
    files = m["output"]["files"]
    on_disk = sorted(
        q.relative_to(out).as_posix() for q in out.rglob("*.exr") if not q.name.startswith(".")
    )
    assert [f["path"] for f in files] == on_disk and len(on_disk) == 2 * N
    assert sum(f["role"] == "matte" for f in files) == N and files[-1]["path"].startswith("matte/")
    for f in files:
        data = (out / f["path"]).read_bytes()
        assert f["size"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
    assert m["c2pa"]["embedded"] == [] and "not a C2PA format" in m["c2pa"]["skipped"][0]["reason"]
    # the sidecar is what was returned, and the catalog holds its hash and a full copy
    raw = (out / SIDECAR).read_bytes()
    assert json.loads(raw) == m
    with project.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "render").order_by(AuditEvent.id.desc())
        ).first()
        assert ev is not None and ev.shot == CLIP
        assert ev.details["manifest_id"] == m["id"]
        assert ev.details["manifest_sha256"] == hashlib.sha256(raw).hexdigest()
        assert ev.details["manifest"] == m
    # verified from the folder, a frame, a matte file or the sidecar itself
    for target in (out, out / files[0]["path"], out / files[-1]["path"], out / SIDECAR):
        v = verify(target, project)
        assert v.ok, (target, v.problems)
        assert v.catalog == "matches" and v.files_checked == 2 * N


def test_a_changed_byte_is_named(film: dict[str, Any], tmp_path: Path) -> None:
    project: Project = film["project"]
    out = tmp_path / "exr"
    m = _render(film, "exr", out)
    frame = m["output"]["files"][2]["path"]
    matte = m["output"]["files"][-1]["path"]
    size = (out / frame).stat().st_size
    _flip(out / frame)
    assert (out / frame).stat().st_size == size  # same size: only the hash can tell
    v = verify(out, project)
    assert not v.ok
    now = hashlib.sha256((out / frame).read_bytes()).hexdigest()
    was = m["output"]["files"][2]["sha256"]
    assert v.problems == [
        f"{frame}: content changed (sha256 {now[:16]}..., the manifest says {was[:16]}...)"
    ]
    _flip(out / frame)  # flipped back: intact again
    assert verify(out, project).ok
    _flip(out / matte, 0.9)
    (problem,) = verify(out, project).problems
    assert problem.startswith(f"{matte}: content changed")

    mp4 = tmp_path / "mp4"
    mm = _render(film, "mp4", mp4)
    (movie,) = [f["path"] for f in mm["output"]["files"]]
    assert movie.endswith(".mp4") and verify(mp4, project).ok
    _flip(mp4 / movie, 0.5)
    (problem,) = verify(mp4 / movie, project).problems
    assert problem.startswith(f"{movie}: content changed")


def test_an_edited_parameter_is_named_by_field(film: dict[str, Any], tmp_path: Path) -> None:
    project: Project = film["project"]
    out = tmp_path / "exr"
    _render(film, "exr", out)

    def tamper(m: dict[str, Any]) -> None:
        m["proposal"]["params"]["gain"] = 3.0
        m["proposal"]["decisions"][0]["note"] = "approved by someone else"

    _edit(out / SIDECAR, tamper)
    v = verify(out, project)
    assert not v.ok and v.catalog == "differs"
    assert v.problems == [
        f"{SIDECAR}: proposal.params.gain: 1.5 in the catalog, 3.0 in the file",
        f'{SIDECAR}: proposal.decisions[0].note: "box is clean" in the catalog, '
        '"approved by someone else" in the file',
    ]
    # without the catalog the files still match the (edited) manifest: said, not hidden
    alone = verify(out)
    assert alone.ok and alone.catalog == "not checked"
    assert any("not checked against a catalog" in n for n in alone.notes)


def test_reformatted_sidecar_matches_and_unknown_id_is_not_recorded(
    film: dict[str, Any], tmp_path: Path
) -> None:
    project: Project = film["project"]
    out = tmp_path / "exr"
    _render(film, "exr", out)
    _edit(out / SIDECAR, lambda m: None)  # same content, other bytes
    v = verify(out, project)
    assert v.ok and any("reformatted" in n for n in v.notes)
    _edit(out / SIDECAR, lambda m: m.update(id="0" * 32))
    v = verify(out, project)
    assert not v.ok and v.catalog == "not recorded"
    assert v.problems == [f"manifest {'0' * 32}: not recorded by this project ({project.root})"]


def test_missing_and_unlisted_files(film: dict[str, Any], tmp_path: Path) -> None:
    project: Project = film["project"]
    out = tmp_path / "exr"
    m = _render(film, "exr", out)
    gone = m["output"]["files"][4]["path"]
    (out / gone).unlink()
    (out / "notes.txt").write_text("not part of the render")
    v = verify(out, project)
    assert v.problems == [f"{gone}: missing"]
    assert v.notes == ["1 file(s) not listed in the manifest: notes.txt"]
    v = verify(out / "notes.txt", project)
    assert "notes.txt: not listed in provenance.json; it is not part of this render" in v.problems


def test_a_lost_sidecar_is_checked_against_the_catalog(
    film: dict[str, Any], tmp_path: Path
) -> None:
    project: Project = film["project"]
    out = tmp_path / "exr"
    m = _render(film, "exr", out)
    (out / SIDECAR).unlink()
    _flip(out / m["output"]["files"][0]["path"])
    v = verify(out, project)
    assert not v.ok and v.manifest["id"] == m["id"] and v.files_checked == 2 * N
    assert v.problems[0].startswith(f"{out / SIDECAR}: missing (checked against the catalog")
    assert v.problems[1].startswith(f"{m['output']['files'][0]['path']}: content changed")
    with pytest.raises(ProvenanceError, match="not a render"):
        verify(out)  # no project: nothing to go on
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProvenanceError, match=r"plain: not a render \(no provenance.json"):
        verify(tmp_path / "plain", project)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / SIDECAR).write_text(json.dumps({"proposal": {"id": 1}, "output": {"files": []}}))
    v = verify(legacy)
    assert not v.ok and "written by an older rushes" in v.problems[0]


def test_signing_configured_without_c2pa_is_an_error_not_a_silent_skip(
    film: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project: Project = film["project"]
    toml = project.root / "rushes.toml"
    before = toml.read_text()
    monkeypatch.setattr(c2pa_sign, "available", lambda: False)
    try:
        toml.write_text(before + '\n[provenance]\nsign_cert = "c.pem"\nsign_key = "k.pem"\n')
        with pytest.raises(ProvenanceError, match="c2pa-python is not installed"):
            _render(film, "mp4", tmp_path / "mp4")
    finally:
        toml.write_text(before)
    m = _render(film, "mp4", tmp_path / "mp4")
    assert m["c2pa"] == {
        "embedded": [],
        "skipped": [
            {
                "files": f"{CLIP}.mp4",
                "reason": "no signing certificate in rushes.toml ([provenance] sign_cert)",
            }
        ],
    }
    _edit(tmp_path / "mp4" / SIDECAR, lambda m: m["output"].update(files=[]))
    assert "lists no files" in verify(tmp_path / "mp4").problems[0]


def test_hashing_happens_as_the_writer_goes(tmp_path: Path) -> None:
    """File k is handed to the hasher when the writer asks for frame k + 1 (still cached)."""
    seen: list[int] = []
    added: list[str] = []

    class Spy(OutputHasher):
        def add(self, path: Path, role: str) -> None:
            added.append(Path(path).name)
            super().add(path, role)

    def frames() -> Iterator[np.ndarray]:
        for k in range(4):
            seen.append(len(added))
            yield np.full((8, 8, 3), k / 4, np.float32)

    pattern = tmp_path / "f.%04d.exr"
    with Spy(tmp_path) as hasher:
        files = write_exr_sequence(
            hash_as_written(frames(), pattern, 1001, hasher, "frame"), pattern
        )
        hasher.add_all(files, "frame")
        entries = hasher.entries()
    assert seen == [0, 1, 2, 3]  # before frame k was made, files 0..k-1 were being hashed
    assert added[:4] == ["f.1001.exr", "f.1002.exr", "f.1003.exr", "f.1004.exr"]
    assert [e["path"] for e in entries] == [p.name for p in files]
    assert entries[1]["sha256"] == hashlib.sha256(files[1].read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Pure pieces


def test_diff_fields_names_each_difference() -> None:
    cat = {"a": {"b": 2.0, "c": [1, 2]}, "files": [{"path": "x", "sha256": "1"}], "t": True}
    got = {"a": {"b": 5.0, "c": [1]}, "files": [{"path": "x", "sha256": "2"}], "t": 1, "z": 0}
    assert diff_fields(cat, got) == [
        "a.b: 2.0 in the catalog, 5.0 in the file",
        "a.c[1]: 2 in the catalog, missing from the file",
        'files[x].sha256: "1" in the catalog, "2" in the file',
        "t: true in the catalog, 1 in the file",
        "z: not in the catalog, 0 in the file",
    ]
    assert diff_fields(cat, json.loads(json.dumps(cat))) == []


def test_model_entry_hashes_weights_and_carries_the_data_manifest(tmp_path: Path) -> None:
    weights = tmp_path / "plate.safetensors"
    weights.write_bytes(b"weights")
    card = {"version": "v001", "data": {"manifest_sha256": "ab" * 32, "clips": 3}}
    e = model_entry("project", "v001", weights, card)
    assert e["weights_sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert e["data_manifest_sha256"] == "ab" * 32 and e["trained"] == {"clips": 3}
    gone = model_entry("project", "v002", tmp_path / "nope.safetensors", None)
    assert gone["weights_sha256"] is None and gone["weights_missing"]


def test_digital_source_type_says_what_was_done() -> None:
    iptc = c2pa_sign.IPTC
    photographed = {"fill": {"synthesized": 0.0}, "model": None}
    telea = {"fill": {"synthesized": 0.2}, "model": None}
    network = {"fill": {"synthesized": 0.2}, "model": {"kind": "project"}}
    unused_network = {"fill": {"synthesized": 0.0}, "model": {"kind": "project"}}
    taught = {"fill": {}, "model": {"kind": "taught"}}
    dst = c2pa_sign.digital_source_type
    assert dst(False, telea) is None  # a grade creates no pixels
    assert dst(True, photographed) == iptc + "compositeCapture"
    assert dst(True, unused_network) == iptc + "compositeCapture"
    assert dst(True, telea) == iptc + "composite"
    assert dst(True, network) == iptc + "compositeWithTrainedAlgorithmicMedia"
    assert dst(True, taught) == iptc + "compositeWithTrainedAlgorithmicMedia"


def test_provenance_settings(tmp_path: Path) -> None:
    toml = tmp_path / "rushes.toml"
    toml.write_text('name = "x"\n[provenance]\nsign_cert = "c.pem"\nsign_key = "k.pem"\n')
    s = c2pa_sign.read_settings(toml)
    assert s.signing and s.sign_cert == tmp_path / "c.pem" and s.tsa_url is None
    toml.write_text('name = "x"\n')
    assert not c2pa_sign.read_settings(toml).signing
    for body, msg in (
        ('sign_cert = "c.pem"', "sign_cert is set but sign_key is not"),
        ('sign_certificate = "c.pem"', "sign_certificate unknown"),
        ('sign_cert = "c"\nsign_key = "k"\nsign_alg = "rsa"', "sign_alg 'rsa' unknown"),
    ):
        toml.write_text(f'name = "x"\n[provenance]\n{body}\n')
        with pytest.raises(ProvenanceError, match=msg):
            c2pa_sign.read_settings(toml)


# --------------------------------------------------------------------------------------------
# The command


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(provenance)
    return app


def test_cli_tells_where_the_pixels_came_from(
    film: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project: Project = film["project"]
    out = tmp_path / "exr"
    m = _render(film, "exr", out)
    monkeypatch.chdir(project.root)
    runner = CliRunner()
    r = runner.invoke(_cli(), [str(out)])
    assert r.exit_code == 0, r.output
    assert f"proposal {film['pid']}: tint (tint.1) on {CLIP}, approved when rendered" in r.output
    assert "gain=1.5" in r.output and m["source"]["checksum"] in r.output
    assert "frames 0-5 (6 @ 24 fps, TC 01:00:10:00)" in r.output
    assert "approved by" in r.output and '"box is clean"' in r.output
    assert "verified: 12 file(s) intact, catalog matches" in r.output
    r = runner.invoke(_cli(), [str(out), "--json"])
    data = json.loads(r.output)
    assert data["ok"] and data["summary"]["id"] == m["id"]
    _flip(out / m["output"]["files"][1]["path"])
    r = runner.invoke(_cli(), [str(out / "matte")])
    assert r.exit_code == 1
    assert f"problem: {m['output']['files'][1]['path']}: content changed" in r.output
    r = runner.invoke(_cli(), [str(tmp_path)])
    assert isinstance(r.exception, ProvenanceError) and "not a render" in str(r.exception)
    assert "\n" not in str(r.exception)


# --------------------------------------------------------------------------------------------
# C2PA


def _certs(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and an ES256 signing certificate C2PA accepts (digitalSignature key
    usage, emailProtection extended key usage, key identifiers)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "rushes test"),
            ]
        )

    def usage(sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(sign, False, False, False, False, ca, ca, False, False)

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("rushes test CA"))
        .issuer_name(name("rushes test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(True, True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("rushes signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(True, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain, key_file, ca_file = folder / "chain.pem", folder / "key.pem", folder / "ca.pem"
    chain.write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    ca_file.write_bytes(ca.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return chain, key_file, ca_file


@pytest.fixture
def signing(film: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``rushes.toml`` with a [provenance] table for the test's certificates; restored after."""
    if not c2pa_sign.available():
        pytest.skip("c2pa-python is not installed (pip install 'rushes[sign]')")
    project: Project = film["project"]
    toml = project.root / "rushes.toml"
    before = toml.read_text()
    chain, key, ca = _certs(tmp_path)
    toml.write_text(before + f'\n[provenance]\nsign_cert = "{chain}"\nsign_key = "{key}"\n')
    try:
        yield {"toml": toml, "before": before, "chain": chain, "key": key, "ca": ca}
    finally:
        toml.write_text(before)


def test_c2pa_manifest_embedded_in_the_movie_reads_back(
    film: dict[str, Any], signing: dict[str, Any], tmp_path: Path
) -> None:
    import c2pa

    project: Project = film["project"]
    for fmt, suffix in (("mp4", ".mp4"), ("prores", ".mov")):
        out = tmp_path / fmt
        m = _render(film, fmt, out)
        movie = next(out.glob(f"*{suffix}"))
        (emb,) = m["c2pa"]["embedded"]
        assert emb["path"] == movie.name and emb["alg"] == "es256"
        assert "rushes signer" in emb["signer"]
        assert emb["digital_source_type"] is None  # tint creates no pixels
        if fmt == "prores":
            assert m["c2pa"]["skipped"][0]["files"].startswith("matte/")
        reader = c2pa.Reader(str(movie))
        assert reader.get_validation_state() == "Valid"  # intact; our CA is in no trust list
        active = reader.get_active_manifest()
        mine = next(
            a["data"] for a in active["assertions"] if a["label"] == "org.rushes.provenance"
        )
        assert mine["manifest_id"] == m["id"] and mine["content_sha256"] == content_sha256(m)
        actions = next(a["data"] for a in active["assertions"] if a["label"] == "c2pa.actions.v2")
        assert [a["action"] for a in actions["actions"]] == ["c2pa.opened", "c2pa.edited"]
        assert active["ingredients"][0]["relationship"] == "parentOf"
        # the sidecar hashes the signed bytes, and verify reads the signature back
        v = verify(out, project)
        assert v.ok, v.problems
        assert v.c2pa[0]["state"] == "Valid" and any("not in a trust list" in n for n in v.notes)
    v = verify(out, project, trust_anchors=signing["ca"])
    assert v.ok and v.c2pa[0]["state"] == "Trusted"

    # a parameter edited in the sidecar: even with no catalog, the signature's hash tells
    _edit(out / SIDECAR, lambda m: m["proposal"]["params"].update(gain=3.0))
    v = verify(out)
    assert not v.ok and "signed for other provenance" in v.problems[0]
    # a changed byte in the movie: the hash and the C2PA validation both fail
    _flip(movie, 0.5)
    problems = verify(out, project).problems
    assert any(p.startswith(f"{movie.name}: content changed") for p in problems)
    assert any(p.startswith(f"{movie.name}: C2PA manifest does not validate") for p in problems)


def test_signing_failures_name_the_file_before_rendering(
    film: dict[str, Any], signing: dict[str, Any], tmp_path: Path
) -> None:
    toml, before = signing["toml"], signing["before"]
    missing = tmp_path / "nope.pem"
    toml.write_text(
        before + f'\n[provenance]\nsign_cert = "{missing}"\nsign_key = "{signing["key"]}"\n'
    )
    out = tmp_path / "out"
    with pytest.raises(ProvenanceError, match=f"{missing}: signing certificate not found"):
        _render(film, "mp4", out)
    assert not out.exists()  # checked before anything was rendered
    (tmp_path / "other").mkdir()
    other = _certs(tmp_path / "other")[1]
    toml.write_text(
        before + f'\n[provenance]\nsign_cert = "{signing["chain"]}"\nsign_key = "{other}"\n'
    )
    with pytest.raises(ProvenanceError, match=f"{other}: is not the key of the certificate"):
        _render(film, "mp4", out)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    toml.write_text(before + f'\n[provenance]\nsign_cert = "{garbage}"\nsign_key = "{other}"\n')
    with pytest.raises(ProvenanceError, match=f"{garbage}: not a PEM certificate"):
        _render(film, "mp4", out)
    # an EXR render has nothing C2PA can carry: it is not signed, and says so
    m = _render(film, "exr", tmp_path / "exr")
    assert m["c2pa"]["embedded"] == [] and len(m["c2pa"]["skipped"]) == 2
