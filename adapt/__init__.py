"""adapt: recommend the next intervention on the way back to work."""

__version__ = "0.1.0"
