"""The HTTP service: serve."""

from __future__ import annotations

import click

from adapt._extras import require
from adapt.cli._shared import (
    _catalogue_option,
    _model_catalogue,
    _usable_cores,
    main,
    one_line_errors,
)


@main.command()
@click.option(
    "--model",
    required=True,
    help="Folder written by `adapt train`, or an MLflow model URI "
    "(e.g. models:/adapt-recommender@champion).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port."
)
@click.option(
    "--demo",
    is_flag=True,
    help="Also serve the demo page at / (it authorises itself with a cookie, never the key).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes serving the port, each with the model loaded once [default: one per "
    "core this process may use].",
)
@_catalogue_option
def serve(model, host, port, demo, workers, catalogue):
    """Serve recommendations over HTTP (POST /v1/recommend); the key comes from ADAPT_API_KEY."""
    require("fastapi")  # the serve extra, named in one line when missing
    require("uvicorn")
    from adapt.service import serve as serve_http

    if catalogue is not None:  # the model must be the catalogue's: checked before listening
        from adapt.recommender import load_recommender

        with one_line_errors():
            loaded = load_recommender(model)  # kept: serving it loads it no second time
        _model_catalogue(loaded.model, catalogue, model)
    with one_line_errors():
        serve_http(model, host=host, port=port, demo=demo, workers=workers or _usable_cores())
