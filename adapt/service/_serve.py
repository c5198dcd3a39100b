"""`serve()`: load one model and run the API under uvicorn (what `adapt serve` calls)."""

from __future__ import annotations

import logging
import os

API_KEY_ENV = "ADAPT_API_KEY"


def api_key_from_env() -> str:
    """The API key from ``ADAPT_API_KEY``; a clear error if it is missing or empty."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise ValueError(
            f"set {API_KEY_ENV} to the API key clients must send as X-API-Key; "
            "the server does not start without one"
        )
    return key


def serve(model: str, host: str = "127.0.0.1", port: int = 8000, demo: bool = False) -> None:
    """Serve `model` (a folder from `adapt train` or an MLflow model URI) over HTTP.

    Reads the key from ``ADAPT_API_KEY`` (refusing to start without one) and loads the model
    once before listening. Raises ValueError or FileNotFoundError with a one-line reason.
    """
    key = api_key_from_env()  # before the slow imports: a missing key is refused at once

    import uvicorn

    from adapt.recommender import load_recommender
    from adapt.service._app import create_app

    app = create_app(load_recommender(model), key, demo=demo)
    if not logging.getLogger("adapt.service").handlers and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("adapt.service").setLevel(logging.INFO)
    # Our own middleware logs one line per request (no query string, no body, no key).
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
