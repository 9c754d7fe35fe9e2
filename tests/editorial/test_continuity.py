"""Colour continuity: looks measured in the right space, drift ranked against a robust centre."""

from __future__ import annotations

import numpy as np

from rushes.editorial.continuity import measure_look, rank_drift


def _look(lab: list[float], stops: float = 0.0) -> dict[str, object]:
    return {"lab": lab, "exposure_stops": stops}


def test_rank_drift_uses_the_median_and_flags_the_odd_one() -> None:
    looks = [_look([50, 0, 0]), _look([51, 1, 0]), _look([49, 0, 1]), _look([50, 15, -15])]
    drifts, centre, hero = rank_drift(["a", "b", "c", "d"], ["s1", "s1", "s2", "s2"], looks)
    assert drifts[0].shot == "d" and drifts[0].delta_e > 10
    assert all(d.delta_e < 2 for d in drifts[1:])
    assert np.allclose(centre, [50, 0.5, 0])
    assert hero == 0  # the shot closest to the median look (ΔE 0.74 vs 1.23, 1.59)
    assert drifts[0].delta_e_setup is not None


def test_rank_drift_against_a_given_hero() -> None:
    looks = [_look([50, 0, 0]), _look([60, 0, 0])]
    drifts, centre, hero = rank_drift(["a", "b"], [None, None], looks, hero=1)
    assert hero == 1 and centre == [60.0, 0.0, 0.0]
    assert drifts[0].shot == "a" and drifts[1].delta_e == 0.0
    assert drifts[0].delta_e_setup is None


def test_measure_look_grey_and_clipping() -> None:
    grey = np.full((32, 32, 3), 0.5, np.float32)  # display code value 0.5
    look = measure_look([grey], "sRGB Encoded Rec.709 (sRGB)")
    assert abs(look["lab"][0] - 53.39) < 0.1 and abs(look["lab"][1]) < 0.05  # sRGB 0.5 = L* 53.39
    assert look["clipped"] == 0.0
    white = np.ones((8, 8, 3), np.float32)
    assert measure_look([white], "sRGB Encoded Rec.709 (sRGB)")["clipped"] == 1.0
    darker = measure_look([grey * 0.5], "sRGB Encoded Rec.709 (sRGB)")
    assert darker["exposure_stops"] < look["exposure_stops"] - 1
