"""adapt: recommend the next intervention on the way back to work."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `adapt.recommend` without importing LightGBM, SHAP and the planner on `import adapt`.
    if name == "recommend":
        from adapt.recommender import recommend

        return recommend
    raise AttributeError(f"module 'adapt' has no attribute {name!r}")
