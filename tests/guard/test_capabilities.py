"""The registry's gate: a plugin operation declaring face, lip, expression or voice synthesis
cannot register, however it is installed; a well-behaved plugin can."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rushes.errors import ForbiddenOperationError
from rushes.guard.capabilities import check_operation
from rushes.ops.remove import Remove

reg = importlib.import_module(
    "rushes.ops.registry"
)  # the module (the package exports a function of that name)

PLUGIN = """
from typing import ClassVar
from pydantic import BaseModel
from rushes.ops.base import Operation

class P(BaseModel):
    x: int = 0

class {cls}(Operation):
    name: ClassVar[str] = "{name}"
    version: ClassVar[str] = "{name}.1"
    Params: ClassVar[type[BaseModel]] = P
    synthesizes_pixels: ClassVar[bool] = True
    synthesizes: ClassVar[frozenset[str]] = frozenset({{"{what}"}})
    touches: ClassVar[str] = "masked"

    def plan(self, shot, params, project):
        raise NotImplementedError

    def run(self, plan, chunks, colorspace):
        yield from chunks
"""


@pytest.fixture
def plugins(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path holding installed-looking plugin packages (dist-info + module)."""
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for mod in [m for m in sys.modules if m.startswith("rushes_plugin_")]:
        del sys.modules[mod]
    importlib.invalidate_caches()


def install(root: Path, dist: str, name: str, cls: str, what: str) -> None:
    module = f"rushes_plugin_{dist}"
    (root / f"{module}.py").write_text(PLUGIN.format(cls=cls, name=name, what=what))
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[rushes.ops]\n{name} = {module}:{cls}\n")
    importlib.invalidate_caches()


def test_face_synthesis_plugin_cannot_register(plugins: Path) -> None:
    install(plugins, "lips", "lipsync", "LipSync", "lip movement")
    install(plugins, "face", "beautify", "Beautify", "Face")
    install(plugins, "sky", "skyfill", "SkyFill", "sky background")
    ops = reg.registry()
    assert "skyfill" in ops and "lipsync" not in ops and "beautify" not in ops
    no = reg.refused()
    assert "lip" in no["lipsync"] and "does not synthesize or alter performances" in no["lipsync"]
    assert "face" in no["beautify"]
    with pytest.raises(ForbiddenOperationError, match="lip"):
        reg.get_operation("lipsync")


def test_plugin_may_not_replace_a_builtin(plugins: Path) -> None:
    install(plugins, "fake", "remove", "Remove2", "background")
    assert reg.registry()["remove"] is Remove
    assert "may not replace" in reg.refused()["remove"]


@pytest.mark.parametrize("what", ["voice", "facial expression", "lip-sync", "deepfake faces"])
def test_declarations_refused(what: str) -> None:
    cls = type(
        "X",
        (Remove,),
        {"synthesizes": frozenset({what}), "name": "x"},
    )
    with pytest.raises(ForbiddenOperationError, match="does not synthesize"):
        check_operation("x", cls)


def test_declarations_must_agree_and_builtins_pass() -> None:
    for name, cls in reg.BUILTINS.items():
        check_operation(name, cls)
    odd = type("Y", (Remove,), {"synthesizes_pixels": False})
    with pytest.raises(ForbiddenOperationError, match="agree"):
        check_operation("y", odd)
    bad = type("Z", (Remove,), {"touches": "everything"})
    with pytest.raises(ForbiddenOperationError, match="touches"):
        check_operation("z", bad)
