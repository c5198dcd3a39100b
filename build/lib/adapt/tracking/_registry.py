"""The recommender as an MLflow pyfunc model, registered, and promoted only when it is better
on the same data and split as the current champion."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema

from adapt.fairness import model_card, write_model_card
from adapt.features import decision_points_for
from adapt.models import MultiTreatmentLearner, load_model, save_model
from adapt.planning import StepTransitions
from adapt.policies import choose_best
from adapt.simulation import simulate
from adapt.tracking._runs import DATA_TAG

MODEL_ARTIFACT = "learner"
# The run's folder of model_card.md and model_card.html, beside the logged model.
CARD_ARTIFACT = "model_card"
# Logged as code (MLflow's models-from-code), not as a pickled object.
MODEL_CODE = Path(__file__).with_name("recommender_model.py")
# Model version tags naming what the version was validated on (DATA_TAG too).
SPLIT_TAG = "adapt.split"


class RecommenderModel(mlflow.pyfunc.PythonModel):
    """Decision-point features in; ``recommended`` and ``p_<intervention>`` out.

    Categorical features may arrive as plain strings (as they do over JSON) or as pandas
    categories (as `decision_points()` returns them): the signature types them ``Any`` (see
    `input_signature`) and the learner checks them against the categories it was fitted on.
    """

    def load_context(self, context):
        self.learner = load_model(context.artifacts[MODEL_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        p = self.learner.predict(model_input)
        return pd.concat([choose_best(p), p], axis=1).reset_index(drop=True)


def synthetic_example(model: MultiTreatmentLearner, n_rows: int = 3) -> pd.DataFrame:
    """Feature rows of simulated persons, never of real ones, as the logged input example."""
    data = simulate(20, seed=0, truth=False)
    points = decision_points_for(model, data["persons"], data["episodes"])
    example = points.features.reindex(columns=list(model.feature_names_in_)).head(n_rows)
    # JSON has no categories: the example shows what a client sends. Integer features stay
    # integers (they are never missing), the rest are floats.
    return example.apply(
        lambda c: (
            c.astype(object)
            if isinstance(c.dtype, pd.CategoricalDtype)
            else c
            if isinstance(c.dtype, np.dtype) and c.dtype.kind in "iu"
            else c.astype(float)
            if pd.api.types.is_numeric_dtype(c)
            else c
        )
    )


def input_signature(model: MultiTreatmentLearner, example: pd.DataFrame) -> Schema:
    """The pyfunc's input schema: `example`'s inferred types, except that the categorical
    features are ``Any``.

    MLflow's schema enforcement runs before `predict` and refuses a pandas category where the
    schema says ``string`` ("Can not safely convert category"), while JSON has only strings.
    ``Any`` lets both through unchanged; the learner itself refuses values outside the
    categories it was fitted on, naming the column.
    """
    inferred = infer_signature(example).inputs
    categorical = set(getattr(model, "categories_", {}))
    return Schema(
        [
            ColSpec(AnyType(), spec.name, required=spec.required)
            if spec.name in categorical
            else spec
            for spec in inferred.inputs
        ]
    )


def log_recommender(
    model: MultiTreatmentLearner,
    registered_name: str | None = None,
    name: str = "recommender",
    *,
    transitions: StepTransitions,
    audit: Mapping | None = None,
    metrics: Mapping[str, float] | None = None,
    data: Mapping | None = None,
):
    """Log `model` to the active run as a pyfunc with signature and example; register it.

    The learner's folder, with the step `transitions` the planner needs beside it, is the
    pyfunc's ``learner`` artifact, so ``load_recommender("models:/<name>@<alias>")`` loads it
    as `adapt train`'s folder. The model card (``model_card.md`` and ``model_card.html``, see
    `adapt.fairness.model_card`, with the fairness `audit`, validation `metrics` and the
    `data` description when given) goes into the run's ``model_card`` folder. Returns the
    registered model version, or the logged model info when `registered_name` is None.
    """
    # A card that cannot be written (e.g. `data` holding a table) fails before anything is logged.
    model_card(model, audit=audit, metrics=metrics, data=data)
    example = synthetic_example(model)
    wrapper = RecommenderModel()
    wrapper.learner = model
    signature = ModelSignature(
        inputs=input_signature(model, example),
        outputs=infer_signature(example, wrapper.predict(None, example)).outputs,
    )
    with tempfile.TemporaryDirectory() as folder:
        saved = save_model(model, Path(folder) / MODEL_ARTIFACT)
        transitions.save(saved)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(MODEL_CODE),
            artifacts={MODEL_ARTIFACT: str(saved)},
            signature=signature,
            input_example=example,
            registered_model_name=registered_name,
        )
    if registered_name is None:
        version = f"logged model {info.model_id} (not registered)"
    else:
        version = f"{registered_name} version {info.registered_model_version}"
    with tempfile.TemporaryDirectory() as folder:
        write_model_card(
            folder,
            model,
            audit=audit,
            metrics=metrics,
            data=data,
            version=f"{version}, MLflow run {info.run_id}",
            date=datetime.now(UTC).date().isoformat(),
        )
        MlflowClient().log_artifacts(info.run_id, folder, CARD_ARTIFACT)
    if registered_name is None:
        return info
    return MlflowClient().get_model_version(registered_name, str(info.registered_model_version))


def current_champion(registered_name: str, alias: str = "champion"):
    """The version holding `alias`, or None."""
    try:
        return MlflowClient().get_model_version_by_alias(registered_name, alias)
    except MlflowException:
        return None


def split_id(fingerprint: str, validation_share: float, seed: int) -> str:
    """A short id of one validation split: the data (`fingerprint`), the share held out and
    the seed that drew it (`adapt.pipeline.split_persons`)."""
    text = f"{fingerprint}|{float(validation_share)!r}|{int(seed)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Promotion:
    """What `promote_if_better` decided, and why.

    ``reason`` is one of ``"first"`` (no holder: promoted), ``"better"`` (promoted),
    ``"not better"``, ``"not eligible"`` and ``"other data"`` (the holder was validated on
    other data or another split, so the values are not compared and the holder keeps the
    alias). ``previous`` is the holder's value of the metric (None without a holder);
    ``holder_fingerprint`` and ``holder_split`` what it was validated on (None when it was
    registered without that record).
    """

    promoted: bool
    reason: str
    previous: float | None = None
    holder: str | None = None
    holder_fingerprint: str | None = None
    holder_split: str | None = None


def promote_if_better(
    registered_name: str,
    version: str,
    metric: str,
    value: float,
    alias: str = "champion",
    greater_is_better: bool = True,
    eligible: bool = True,
    *,
    fingerprint: str,
    split: str,
) -> Promotion:
    """Give `version` the alias when it is `eligible` (e.g. its fairness audit passed) and
    either no version holds the alias or the holder was validated on the same data and split
    and `version`'s `metric` beats the holder's.

    Validation values are compared only like with like: `fingerprint` (of the data) and
    `split` (:func:`split_id`) are recorded on `version` as the tags ``adapt.data_fingerprint``
    and ``adapt.split``, and a holder whose tags differ (or are missing) keeps the alias,
    whatever the values: reason ``"other data"``.
    """
    client = MlflowClient()
    version = str(version)
    client.set_model_version_tag(registered_name, version, DATA_TAG, fingerprint)
    client.set_model_version_tag(registered_name, version, SPLIT_TAG, split)
    client.set_model_version_tag(registered_name, version, "eligible", str(eligible).lower())
    client.set_model_version_tag(registered_name, version, metric, str(value))
    holder = current_champion(registered_name, alias)
    if holder is None:
        found = {}
    else:
        found = {
            "previous": client.get_run(holder.run_id).data.metrics.get(metric),
            "holder": str(holder.version),
            "holder_fingerprint": holder.tags.get(DATA_TAG),
            "holder_split": holder.tags.get(SPLIT_TAG),
        }
    if not eligible:
        return Promotion(False, "not eligible", **found)
    if holder is not None and (
        found["holder_fingerprint"] != fingerprint or found["holder_split"] != split
    ):
        return Promotion(False, "other data", **found)
    best = found.get("previous")
    better = best is None or (value > best if greater_is_better else value < best)
    if not better:
        return Promotion(False, "not better", **found)
    client.set_registered_model_alias(registered_name, alias, version)
    return Promotion(True, "first" if holder is None else "better", **found)
