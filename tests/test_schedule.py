"""Probes run at initialization, log-spaced early, regularly after, and at the last step."""

from fanin.probes.schedule import log_spaced_steps, probe_steps


def test_log_spaced_steps_read_one_two_five():
    assert log_spaced_steps(1000, 3) == [1, 2, 5, 10, 20, 50, 100, 200, 500]


def test_schedule_has_initialization_log_steps_regular_steps_and_the_last():
    assert probe_steps(2500, every=1000, per_decade=3) == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000,
                                                           2500]


def test_zero_steps_is_just_the_initialization():
    assert probe_steps(0, every=100, per_decade=3) == [0]


def test_denser_log_spacing():
    assert log_spaced_steps(100, 10)[:6] == [1, 2, 3, 4, 5, 6]
