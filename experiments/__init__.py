"""Hydra entry points that compose library calls (see issue [C]); no modelling logic lives here."""
