"""The HTTP service around `recommend()` and its demo page (see `adapt serve`).

`create_app(recommender, api_key, demo=False)` builds the FastAPI app; `serve(model, host,
port, demo)` loads a model and runs it under uvicorn, with the key from ``ADAPT_API_KEY``.
"""

from adapt.service._serve import API_KEY_ENV, serve


def __getattr__(name: str):
    # `create_app` without importing FastAPI, LightGBM and SHAP on `import adapt.service`, so
    # `adapt serve` refuses a missing key at once.
    if name == "create_app":
        from adapt.service._app import create_app

        return create_app
    raise AttributeError(f"module 'adapt.service' has no attribute {name!r}")


__all__ = ["API_KEY_ENV", "create_app", "serve"]
