"""Stored attribution results carry the machine's load at writing (lib/attribution/store.py), for their timings."""
import os

import numpy as np

from lib.attribution import SelfInfluence, load_self_scores, save_self_scores, self_influence
from lib.attribution.result import AttributionResult
from lib.attribution.store import load_scores, save_scores


def test_results_record_the_load_when_written_and_leave_the_result_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (7.123, 8.0, 9.5))
    result = AttributionResult(np.ones((2, 1)), np.array([1, 2]), np.array([9]), {"fit": 3.0, "score": 4.0},
                               {"method": "trak"})
    save_scores(tmp_path, 5, result)
    assert "machine_load" not in result.info
    stored = load_scores(tmp_path, "trak")[5]
    assert stored.info["machine_load"] == {"load_average_1_5_15": [7.12, 8.0, 9.5], "cpus": os.cpu_count()}
    vector = SelfInfluence(np.array([0.5, 2.0]), np.array([3, 4]), {"fit": 1.0, "score": 2.0}, {"method": "ekfac"})
    save_self_scores(tmp_path, 2, vector)
    again = load_self_scores(tmp_path, "ekfac")[2]
    assert again.info["machine_load"]["load_average_1_5_15"][0] == 7.12 and again.seconds == {"fit": 1.0, "score": 2.0}
    assert self_influence(tmp_path, "ekfac") == {3: 0.5, 4: 2.0}  # exported from the package
