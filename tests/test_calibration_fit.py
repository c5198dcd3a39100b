"""The calibration fit moves a free parameter toward its target, averaged over seeds."""

from adapt.calibration import Target, calibration_over_seeds
from adapt.calibration.fit import _overrides, fit
from adapt.simulation import World


def test_the_fit_brings_a_missed_figure_within_its_tolerance():
    women = Target("women", "women", "share", 0.66, "x", 0.02, "all", "gender == 'woman'")
    free = {"population.p_woman.default": (0.05, 0.3, 0.9)}
    before = calibration_over_seeds(3000, (1, 2), targets=[women]).iloc[0]
    assert before["mean_off"] < -2  # the default world has about 58 % women

    fitted = fit([women], 3000, seeds=(1, 2), iterations=2, free=free, pull=0.0, verbose=False)

    world = World.from_preset(overrides=_overrides(World.from_preset().params, fitted))
    after = calibration_over_seeds(3000, (3, 4), world, [women]).iloc[0]  # unseen seeds
    assert fitted["population.p_woman.default"] > 0.575
    assert abs(after["mean_off"]) < 1 and abs(after["mean_off"]) < abs(before["mean_off"]) / 3
