"""C2PA Content Credentials in delivered movies (optional: ``pip install 'rushes[sign]'``).

When ``rushes.toml`` names a signing certificate and key, a render embeds a C2PA manifest in
every delivered file C2PA supports (MOV and MP4); OpenEXR is not a C2PA format, so image
sequences and mattes rely on ``provenance.json`` alone, which says so. The settings::

    [provenance]
    sign_cert = "certs/rushes_chain.pem"   # end-entity certificate first, then its CA chain
    sign_key = "certs/rushes_key.pem"      # unencrypted PEM private key of that certificate
    sign_alg = "es256"                     # optional: es256|es384|es512|ps256|ps384|ps512|ed25519
    tsa_url = ""                           # optional RFC 3161 time-stamp authority (network!)
    trust_anchors = "certs/ca.pem"         # optional: CAs trusted when verifying

Relative paths are relative to the project folder. No network is used unless ``tsa_url`` is
set: remote manifests and OCSP are never fetched.

The C2PA manifest says, in C2PA's own terms, what the sidecar says in detail: the source clip
is the parent ingredient (``c2pa.opened``), other takes whose photographed pixels filled a
matte are component ingredients (``c2pa.placed``), and the fix is ``c2pa.edited`` by rushes;
for operations that synthesize pixels the edit carries the IPTC digital source type that fits
what was actually done (:func:`digital_source_type`). An ``org.rushes.provenance`` assertion
carries the rushes manifest id and the sha256 of its content, so either record can be checked
against the other.

The ``c2pa`` package (c2pa-python) and ``cryptography`` are imported only when used.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rushes.atomic import atomic_path
from rushes.guard.provenance import ProvenanceError

C2PA_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".m4v": "video/x-m4v"}
"""Delivered formats rushes signs (C2PA's BMFF binding), by suffix."""

SOURCE_TYPES = {
    ".mov": "video/quicktime",
    ".mp4": "video/mp4",
    ".mxf": "application/mxf",
    ".exr": "image/x-exr",
    ".dpx": "image/x-dpx",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
ASSERTION = "org.rushes.provenance"
ALGS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
SETTINGS_KEYS = ("sign_cert", "sign_key", "sign_alg", "tsa_url", "trust_anchors")
UNTRUSTED = "signingCredential.untrusted"
MODEL_KEYS = ("kind", "name", "version", "weights_sha256", "data_manifest_sha256")

_OFFLINE: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "builder": {"thumbnail": {"enabled": False}},
}


def available() -> bool:
    """Whether c2pa-python can be imported here."""
    try:
        import c2pa  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


# --------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class ProvenanceSettings:
    """The ``[provenance]`` table of ``rushes.toml`` (paths resolved)."""

    sign_cert: Path | None = None
    sign_key: Path | None = None
    sign_alg: str | None = None
    tsa_url: str | None = None
    trust_anchors: Path | None = None
    file: Path | None = None

    @property
    def signing(self) -> bool:
        """Whether renders are to be signed."""
        return self.sign_cert is not None


def read_settings(toml: Path) -> ProvenanceSettings:
    """The ``[provenance]`` table of the ``rushes.toml`` at ``toml`` (empty when absent).

    Raises:
        ProvenanceError: an unknown key, a value of the wrong type, a certificate without a
            key (or the reverse), an unknown algorithm; naming the file and the key.
    """
    toml = Path(toml)
    try:
        data = tomllib.loads(toml.read_text(encoding="utf-8"))
    except OSError as e:
        raise ProvenanceError(f"{toml}: cannot read ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ProvenanceError(f"{toml}: not valid TOML ({e}); fix the file") from None
    table = data.get("provenance") or {}
    if not isinstance(table, dict):
        raise ProvenanceError(f"{toml}: 'provenance' must be a table ([provenance])")
    unknown = sorted(set(table) - set(SETTINGS_KEYS))
    if unknown:
        raise ProvenanceError(
            f"{toml}: [provenance] {unknown[0]} unknown; use {', '.join(SETTINGS_KEYS)}"
        )
    for k, v in table.items():
        if not isinstance(v, str):
            raise ProvenanceError(f'{toml}: [provenance] {k} must be a string ("...")')
    root = toml.parent

    def path(key: str) -> Path | None:
        v = str(table.get(key) or "").strip()
        return (root / Path(v).expanduser()) if v else None

    cert, key = path("sign_cert"), path("sign_key")
    if (cert is None) != (key is None):
        have, missing = ("sign_cert", "sign_key") if cert else ("sign_key", "sign_cert")
        raise ProvenanceError(f"{toml}: [provenance] {have} is set but {missing} is not; give both")
    alg = str(table.get("sign_alg") or "").strip().lower() or None
    if alg is not None and alg not in ALGS:
        raise ProvenanceError(
            f"{toml}: [provenance] sign_alg {alg!r} unknown; use one of {', '.join(ALGS)}"
        )
    return ProvenanceSettings(
        sign_cert=cert,
        sign_key=key,
        sign_alg=alg,
        tsa_url=str(table.get("tsa_url") or "").strip() or None,
        trust_anchors=path("trust_anchors"),
        file=toml,
    )


# --------------------------------------------------------------------------------------------
# Signing


@dataclass(frozen=True)
class PreparedSigner:
    """A checked certificate chain and key, ready to sign (see :func:`prepare_signer`)."""

    alg: str
    cert_pem: bytes
    key_pem: bytes
    tsa_url: str | None
    subject: str
    issuer: str
    cert: Path


def _alg_for_key(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(
            key.curve.name, ""
        )
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    return ""


def prepare_signer(settings: ProvenanceSettings) -> PreparedSigner:
    """Read and check the configured certificate chain and key (before any pixel is rendered).

    Raises:
        ProvenanceError: c2pa-python is not installed, a file is missing or unreadable, not a
            PEM certificate or key, the key is not the certificate's, the certificate has
            expired, or the algorithm does not fit the key; naming the file.
    """
    if settings.sign_cert is None or settings.sign_key is None:
        raise ProvenanceError("no signing certificate configured ([provenance] sign_cert)")
    where = f"{settings.file or 'rushes.toml'} [provenance]"
    if not available():
        raise ProvenanceError(
            f"{where} sign_cert is set but c2pa-python is not installed; "
            "pip install 'rushes[sign]', or remove sign_cert to render without C2PA"
        )
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    def read(p: Path, what: str) -> bytes:
        try:
            return p.read_bytes()
        except FileNotFoundError:
            raise ProvenanceError(f"{p}: {what} not found (set in {where})") from None
        except OSError as e:
            raise ProvenanceError(f"{p}: cannot read the {what} ({e.strerror})") from None

    cert_pem = read(settings.sign_cert, "signing certificate")
    key_pem = read(settings.sign_key, "signing key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise ProvenanceError(
            f"{settings.sign_cert}: not a PEM certificate chain; give the signing "
            "certificate first, then its CA certificates"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as e:
        raise ProvenanceError(
            f"{settings.sign_key}: not an unencrypted PEM private key ({e})"
        ) from None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, pub) != chain[0].public_key().public_bytes(enc, pub):
        raise ProvenanceError(
            f"{settings.sign_key}: is not the key of the certificate {settings.sign_cert}; "
            "give the matching pair"
        )
    now = dt.datetime.now(dt.UTC)
    if chain[0].not_valid_after_utc < now:
        raise ProvenanceError(
            f"{settings.sign_cert}: expired on {chain[0].not_valid_after_utc:%Y-%m-%d}; "
            "renew the signing certificate"
        )
    alg = _alg_for_key(key)
    if not alg:
        raise ProvenanceError(f"{settings.sign_key}: key type not usable for C2PA signing")
    fits = settings.sign_alg in (None, alg) or (
        alg == "ps256" and settings.sign_alg in ("ps384", "ps512")
    )
    if not fits:
        raise ProvenanceError(
            f"{where} sign_alg {settings.sign_alg} does not fit the key {settings.sign_key} "
            f"({alg}); remove sign_alg or change it"
        )
    return PreparedSigner(
        alg=settings.sign_alg or alg,
        cert_pem=cert_pem,
        key_pem=key_pem,
        tsa_url=settings.tsa_url,
        subject=chain[0].subject.rfc4514_string(),
        issuer=chain[0].issuer.rfc4514_string(),
        cert=settings.sign_cert,
    )


def digital_source_type(synthesizes_pixels: bool, manifest: dict[str, Any]) -> str | None:
    """The IPTC digital source type of a rushes edit, or ``None`` for an edit of photographed
    pixels that creates none (a grade, a degrain: the pixels stay a capture).

    For an operation that synthesizes pixels, what it actually did decides:
    ``compositeWithTrainedAlgorithmicMedia`` when a trained network (the project's plate
    network, a taught effect) made pixels; ``composite`` when an untrained algorithm filled
    part of the frame (OpenCV Telea); ``compositeCapture`` when every filled pixel was
    photographed (neighbouring frames, other takes of the setup).
    """
    if not synthesizes_pixels:
        return None
    model = manifest.get("model") or None
    fill = manifest.get("fill") or {}
    synthesized = fill.get("synthesized")
    if model is not None and (model.get("kind") == "taught" or (synthesized or 0) > 0):
        return IPTC + "compositeWithTrainedAlgorithmicMedia"
    if synthesized is None or synthesized > 0:
        return IPTC + "composite"
    return IPTC + "compositeCapture"


def definition(
    manifest: dict[str, Any], content: str, title: str, synthesizes_pixels: bool
) -> dict[str, Any]:
    """The C2PA manifest definition for one delivered file of the render ``manifest``.

    Args:
        manifest: The rushes manifest (its output files need not be known yet).
        content: Its :func:`~rushes.guard.provenance.content_sha256`.
        title: The delivered file's name.
        synthesizes_pixels: The operation's class attribute of that name.
    """
    version = str(manifest.get("rushes") or "unknown")
    agent = {"name": "rushes", "version": version}
    prop = manifest.get("proposal") or {}
    src = manifest.get("source") or {}
    fill = manifest.get("fill") or {}
    ingredients = [
        {
            "title": Path(str(src.get("path") or "source")).name,
            "format": SOURCE_TYPES.get(Path(str(src.get("path") or "")).suffix.lower(), "video"),
            "relationship": "parentOf",
            "instance_id": f"rushes:xxh64:{src.get('checksum')}",
            "label": "source",
        }
    ]
    takes = [s for s in manifest.get("sources") or [] if s.get("role") == "take"]
    used_takes = (fill.get("photographed_other_takes") or 0) > 0
    for i, s in enumerate(takes if used_takes else []):
        ingredients.append(
            {
                "title": Path(str(s.get("path") or f"take{i}")).name,
                "format": SOURCE_TYPES.get(Path(str(s.get("path") or "")).suffix.lower(), "video"),
                "relationship": "componentOf",
                "instance_id": f"rushes:xxh64:{s.get('checksum')}",
                "label": f"take{i}",
            }
        )
    frames = f"frames {src.get('start')}-{int(src.get('end') or 0) - 1}"
    actions: list[dict[str, Any]] = [
        {
            "action": "c2pa.opened",
            "softwareAgent": agent,
            "description": f"shot {src.get('shot')}, {frames} of the source clip",
            "parameters": {"ingredientIds": ["source"]},
        }
    ]
    if len(ingredients) > 1:
        actions.append(
            {
                "action": "c2pa.placed",
                "softwareAgent": agent,
                "description": "photographed pixels of other takes of the setup fill the matte",
                "parameters": {"ingredientIds": [x["label"] for x in ingredients[1:]]},
            }
        )
    edited: dict[str, Any] = {
        "action": "c2pa.edited",
        "softwareAgent": agent,
        "description": (
            f"{prop.get('op')} ({prop.get('version')}), proposal {prop.get('id')}, "
            f"{prop.get('status')} at render"
        ),
    }
    dst = digital_source_type(synthesizes_pixels, manifest)
    if dst:
        edited["digitalSourceType"] = dst
    actions.append(edited)
    model = manifest.get("model") or None
    assertion = {
        "schema": manifest.get("schema"),
        "manifest_id": manifest.get("id"),
        "content_sha256": content,
        "proposal": {k: prop.get(k) for k in ("id", "op", "version", "status")},
        "decisions": prop.get("decisions") or [],
        "source": {k: src.get(k) for k in ("path", "checksum", "start", "end", "fps", "timecode")},
        "model": None if model is None else {k: model.get(k) for k in MODEL_KEYS},
        "rendered_by": manifest.get("rendered_by"),
        "created_at": manifest.get("created_at"),
    }
    return {
        "claim_generator_info": [agent],
        "title": title,
        "ingredients": ingredients,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": ASSERTION, "data": json.loads(json.dumps(assertion, default=str))},
        ],
    }


def embed(
    path: Path, signer: PreparedSigner, manifest_definition: dict[str, Any]
) -> dict[str, Any]:
    """Sign ``path`` (MOV/MP4) in place with a C2PA manifest, atomically.

    Returns:
        The sidecar's record of it: ``{"path" (name), "alg", "signer", "issuer",
        "digital_source_type"}``.

    Raises:
        ProvenanceError: the file's format is not one C2PA binds to, or signing failed (a bad
            certificate chain), naming the file.
    """
    import c2pa

    path = Path(path)
    if path.suffix.lower() not in C2PA_TYPES:
        raise ProvenanceError(f"{path}: not a format C2PA can be embedded in (MOV, MP4)")
    info = c2pa.C2paSignerInfo(
        signer.alg.encode(), signer.cert_pem, signer.key_pem, signer.tsa_url or None
    )
    try:
        native = c2pa.Signer.from_info(info)
        with atomic_path(path) as tmp:
            ctx = c2pa.Context.from_dict(_OFFLINE)
            builder = c2pa.Builder(manifest_definition, context=ctx)
            builder.sign_file(path, tmp, native)
    except c2pa.C2paError as e:
        raise ProvenanceError(
            f"{path}: C2PA signing with {signer.cert} failed ({_one_line(e)}); check the "
            "certificate chain (it needs digitalSignature key usage and a C2PA-valid "
            "extended key usage such as emailProtection or documentSigning)"
        ) from None
    actions = manifest_definition["assertions"][0]["data"]["actions"]
    return {
        "path": path.name,
        "alg": signer.alg,
        "signer": signer.subject,
        "issuer": signer.issuer,
        "digital_source_type": actions[-1].get("digitalSourceType"),
    }


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) < 200 else text[:197] + "..."


# --------------------------------------------------------------------------------------------
# Reading back


def read_embedded(path: Path, trust_anchors: Path | None = None) -> dict[str, Any] | None:
    """The C2PA manifest embedded in ``path``, validated; ``None`` when it has none.

    Returns:
        ``{"state": "Trusted" | "Valid" | "Invalid" | "Unreadable", "failures": [codes],
        "signer": {...}, "rushes": the org.rushes.provenance assertion or None}``. ``Valid``
        means intact but signed by a certificate no trust anchor vouches for.
    """
    import c2pa

    path = Path(path)
    settings: dict[str, Any] = json.loads(json.dumps(_OFFLINE))
    if trust_anchors is not None and trust_anchors.is_file():
        settings["trust"] = {"user_anchors": trust_anchors.read_text(encoding="utf-8")}
    mime = C2PA_TYPES.get(path.suffix.lower())
    try:
        ctx = c2pa.Context.from_dict(settings)
        with open(path, "rb") as stream:
            reader = c2pa.Reader(mime, stream, None, ctx)
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            active = reader.get_active_manifest() or {}
    except c2pa.C2paError.ManifestNotFound:
        return None
    except (c2pa.C2paError, OSError, KeyError) as e:
        return {"state": "Unreadable", "failures": [_one_line(e)], "signer": {}, "rushes": None}
    failures = [
        f"{f.get('code')}" for f in (results.get("activeManifest") or {}).get("failure") or []
    ]
    rushes = next(
        (a.get("data") for a in active.get("assertions") or [] if a.get("label") == ASSERTION),
        None,
    )
    sig = active.get("signature_info") or {}
    return {
        "state": str(state or "Invalid"),
        "failures": failures,
        "signer": {k: sig.get(k) for k in ("common_name", "issuer", "alg") if k in sig},
        "rushes": rushes,
    }


def problems_of(found: dict[str, Any], rel: str, manifest_id: str, content: str) -> list[str]:
    """What is wrong with a movie's C2PA manifest (:func:`read_embedded`) for this render."""
    if found["state"] == "Unreadable":
        return [f"{rel}: its C2PA manifest cannot be read ({'; '.join(found['failures'])})"]
    out = []
    bad = [c for c in found["failures"] if c != UNTRUSTED]
    if found["state"] == "Invalid" or bad:
        out.append(f"{rel}: C2PA manifest does not validate ({', '.join(bad) or 'invalid'})")
    mine = found.get("rushes")
    if not isinstance(mine, dict):
        out.append(f"{rel}: its C2PA manifest was not made by rushes (no {ASSERTION})")
    elif mine.get("manifest_id") != manifest_id:
        out.append(
            f"{rel}: its C2PA manifest belongs to render {mine.get('manifest_id')}, "
            f"not {manifest_id}"
        )
    elif mine.get("content_sha256") != content:
        out.append(
            f"{rel}: its C2PA manifest was signed for other provenance (content sha256 "
            f"{str(mine.get('content_sha256'))[:16]}..., the sidecar hashes to {content[:16]}...)"
        )
    return out


def notes_of(found: dict[str, Any], rel: str) -> list[str]:
    """What is worth saying about a valid C2PA manifest (who signed it, trusted or not)."""
    who = found.get("signer", {}).get("common_name") or "an unnamed signer"
    if found["state"] == "Trusted":
        return [f"{rel}: C2PA signature valid and trusted (signed by {who})"]
    if found["state"] == "Valid":
        return [
            f"{rel}: C2PA signature valid (signed by {who}); its certificate is not in a "
            "trust list (set [provenance] trust_anchors to vouch for it)"
        ]
    return []
