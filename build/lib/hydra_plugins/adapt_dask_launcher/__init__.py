"""A Hydra launcher that runs a sweep's jobs on a Dask cluster (``hydra/launcher=dask``)."""
