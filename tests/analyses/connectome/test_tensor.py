"""The affinity tensor: recordings and trials of different lengths are cut, and the result says so."""

from __future__ import annotations

import dataclasses

import numpy as np

from neurotools.analyses.connectome import Params, SimParams, run, simulate, simulate_animals
from neurotools.analyses.connectome.tensor import (
    build_tensor,
    cut_to_common_length_note,
    cut_trials_note,
)
from neurotools.data.recording import IntervalTable

SMALL = dict(n_neurons=8, n_motifs=1, motif_size=4)  # 4 Hz samples; window_s=2 -> 1 s bins


def _animal(n_samples: int, seed: int):
    return simulate_animals(SimParams(n_animals=1, n_samples=n_samples, **SMALL), seed=seed)[0]


def test_animals_of_different_lengths_are_cut_to_the_shortest_and_named():
    long, short = _animal(800, seed=0), _animal(400, seed=1)  # 200 s and 100 s
    t = build_tensor([long, short], Params())
    assert t.X.shape[1] == 100
    assert len(t.warnings) == 1
    note = t.warnings[0]
    assert "100 bins (100.0 s)" in note
    assert f"{long.source.name}: 200.0 s (200 bins), first 100.0 s kept (50% left out)" in note
    assert f"{short.source.name}: 100.0 s (100 bins)." in note


def test_animals_of_equal_length_give_no_warning():
    assert build_tensor([_animal(400, seed=0), _animal(400, seed=1)], Params()).warnings == []


def test_the_result_carries_the_warning():
    long, short = _animal(800, seed=0), _animal(400, seed=1)
    res = run([long, short], Params(rank=1, restarts=1, iterations=5), seed=0)
    assert res.metrics["n_bins"] == 100
    assert len(res.info["warnings"]) == 1 and long.source.name in res.info["warnings"][0]
    same = run([_animal(400, seed=0), _animal(400, seed=1)], Params(rank=1, restarts=1, iterations=5))
    assert same.info["warnings"] == []


def test_trials_of_different_lengths_are_reported():
    rec = simulate(SimParams(n_animals=3, n_samples=400, **SMALL), seed=0)  # 3 trials of 100 s
    tab = rec.intervals["trials"]
    shorter = IntervalTable("trials", tab.start, tab.stop - np.array([0.0, 40.0, 0.0]), tab.columns)
    t = build_tensor([dataclasses.replace(rec, intervals={"trials": shorter})], Params())
    assert t.mode == "trials" and t.X.shape[1] == 60
    assert len(t.warnings) == 1
    assert "(60.0-100.0 s)" in t.warnings[0] and "60 bins (60.0 s)" in t.warnings[0]
    assert "2 of 3 trials" in t.warnings[0]
    assert build_tensor([rec], Params()).warnings == []


def test_notes_by_hand():
    assert cut_to_common_length_note(["a", "b"], [10.0, 10.4], [10, 10], [10.0, 10.0], 10) is None
    note = cut_to_common_length_note(["zf.nwb", "m.nwb"], [5660.0, 400.0], [5660, 400],
                                     [400.0, 400.0], 400)
    assert "zf.nwb: 5660.0 s (5660 bins), first 400.0 s kept (93% left out)" in note
    assert cut_trials_note([10.0, 10.2], [10, 10], 10.0, 10) is None
    assert "50% of the trial time" in cut_trials_note([10.0, 30.0], [10, 30], 10.0, 10)
