from lib import cores


def test_cores_are_the_affinity_mask_not_the_machines_count(monkeypatch):
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: {2, 7})
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 64)
    assert cores.available_cores() == 2


def test_without_an_affinity_call_the_machines_count_is_used_and_never_zero(monkeypatch):
    monkeypatch.delattr(cores.os, "sched_getaffinity")
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 6)
    assert cores.available_cores() == 6
    monkeypatch.setattr(cores.os, "cpu_count", lambda: None)
    assert cores.available_cores() == 1
