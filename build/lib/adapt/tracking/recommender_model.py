"""The code MLflow logs with the recommender (models-from-code): it names the pyfunc model."""

import mlflow

from adapt.tracking._registry import RecommenderModel

mlflow.models.set_model(RecommenderModel())
