"""Simulate calibrated histories of interventions, with the ground truth kept apart."""

from adapt.simulation._dynamics import EXIT_REASONS
from adapt.simulation._generate import GenerationSummary, generate, simulate
from adapt.simulation._world import World, available_presets

__all__ = [
    "EXIT_REASONS",
    "GenerationSummary",
    "World",
    "available_presets",
    "generate",
    "simulate",
]

from adapt.simulation._oracle import DecisionBatch, Oracle, Rollout  # noqa: E402
from adapt.simulation._starts import StartStates  # noqa: E402

__all__ += ["DecisionBatch", "Oracle", "Rollout", "StartStates"]
