"""Hydra entry points that compose library calls (see issue [C]); no modelling logic lives here."""


def cli() -> None:
    """`adapt-experiment`: the experiments extra checked first (one line naming it when it is
    missing), then `experiments.run.cli`."""
    import sys

    from adapt._extras import MissingExtra, require

    try:
        require("hydra")
        require("mlflow")
    except MissingExtra as error:
        print(f"Error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    from experiments.run import cli as run

    run()
