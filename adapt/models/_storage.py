"""A fitted learner as JSON and LightGBM's own text files: no pickle, readable, durable.

``learner.json`` holds the learner's fitted state as a tree of JSON values: numbers, strings,
lists and mappings as themselves, and a few tagged forms (one key each) for what JSON lacks::

    {"__tuple__": [...]}                  a tuple
    {"__items__": [[key, value], ...]}    a mapping whose keys are not all plain strings
    {"__float__": "nan"}                  nan, inf or -inf
    {"__scalar__": "float64", "value": x} a numpy scalar
    {"__array__": "bool", "shape": [...], "values": [...]}   a numpy array (flat values)
    {"__trees__": "boosters/003.txt", "classes": ...}        a LightGBM booster's text file
    {"__object__": "adapt.models._arms.CrossFittedOutcome", "state": {...}}
    {"__shared__": 4, "value": ...} / {"__ref__": 4}         one object reached twice

Only adapt's own classes are made again (`SAVED_CLASSES` and the learners), from their fitted
attributes; attributes starting with ``_`` are caches and what a class lists in
``unsaved_state`` is needed only while fitting, so neither is written.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import shutil
from collections import Counter
from pathlib import Path

import lightgbm as lgb
import numpy as np

from adapt.models._lightgbm import Trees

STATE_FILE = "learner.json"
BOOSTERS = "boosters"
# The layout of `STATE_FILE`: a reader refuses a higher one (written by a newer adapt).
FORMAT = 1
TAGS = ("__tuple__", "__items__", "__float__", "__scalar__", "__array__", "__trees__")
TAGS += ("__object__", "__shared__", "__ref__")
ARRAY_KINDS = "biufUO"  # bool, integers, floats, strings, objects (each element a value here)


@functools.cache
def saved_classes() -> dict[str, type]:
    """The classes a saved learner may hold besides the learners, by qualified name."""
    from adapt.catalogue import Catalogue, Intervention, Region, Step
    from adapt.models._arms import CrossFittedOutcome
    from adapt.models._blend import BlendParts
    from adapt.models._policy_tree import PolicyTree, Split
    from adapt.models._propensity import CrossFittedPropensity

    classes = (Catalogue, Intervention, Region, Step, CrossFittedOutcome, CrossFittedPropensity)
    return {_name(c): c for c in (*classes, BlendParts, PolicyTree, Split)}


def write_state(model, folder: Path) -> None:
    """`model`'s fitted state into `folder`: `STATE_FILE` and one booster file per model."""
    shutil.rmtree(folder / BOOSTERS, ignore_errors=True)  # a model saved here before
    writer = _Writer(folder)
    node = writer.node(model, "learner")
    text = json.dumps({"format": FORMAT, "learner": node}, indent=1, allow_nan=False)
    (folder / STATE_FILE).write_text(text, "utf-8")


def read_state(folder: Path):
    """The learner `write_state` wrote into `folder`."""
    path = folder / STATE_FILE
    try:
        saved = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not JSON ({error}); save or train the model again") from None
    if not isinstance(saved, dict) or "learner" not in saved:
        raise ValueError(f"{path} does not hold a saved learner (no 'learner' entry)")
    if not isinstance(saved.get("format", FORMAT), int) or saved.get("format", FORMAT) > FORMAT:
        raise ValueError(
            f"{path} was written by a newer adapt (format {saved['format']!r}; this one reads "
            f"format {FORMAT} and older); upgrade adapt or train the model again"
        )
    try:
        return _Reader(folder).value(saved["learner"], "learner")
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        # a hand-edited or truncated file: its structure is not what `write_state` writes
        raise ValueError(
            f"{path} is damaged ({type(error).__name__}: {error}); save or train the model again"
        ) from None


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Writer:
    def __init__(self, folder: Path):
        self.folder, self.boosters, self.shared = folder, 0, {}
        self.reached: Counter = Counter()

    def node(self, value, where: str):
        self._count(value)
        return self._node(value, where)

    def _count(self, value) -> None:
        """How often each container is reached, so one reached twice is written once."""
        if isinstance(value, str | int | float | bool | np.generic) or value is None:
            return
        self.reached[id(value)] += 1
        if self.reached[id(value)] > 1:
            return
        for child in _children(value):
            self._count(child)

    def _node(self, value, where: str):
        if isinstance(value, np.generic):  # before float: numpy's float64 is a float
            return {"__scalar__": value.dtype.name, "value": self._node(value.item(), where)}
        if isinstance(value, bool | int | str) or value is None:
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        key = id(value)
        if key in self.shared:
            return {"__ref__": self.shared[key]}
        if self.reached[key] > 1:
            self.shared[key] = number = len(self.shared)
            return {"__shared__": number, "value": self._written(value, where)}
        return self._written(value, where)

    def _written(self, value, where: str):
        if isinstance(value, list):
            return [self._node(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"__tuple__": [self._node(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            plain = all(isinstance(k, str) and k not in TAGS for k in value)
            if plain:
                return {k: self._node(v, f"{where}[{k!r}]") for k, v in value.items()}
            items = [
                [self._node(k, where), self._node(v, f"{where}[{k!r}]")] for k, v in value.items()
            ]
            return {"__items__": items}
        if isinstance(value, np.ndarray):
            return self._array(value, where)
        if isinstance(value, Trees):
            return self._trees(value, where)
        return self._object(value, where)

    def _array(self, value: np.ndarray, where: str):
        if value.dtype.kind not in ARRAY_KINDS:
            raise TypeError(f"cannot save {where}: an array of {value.dtype}")
        flat = value.ravel().tolist()
        if value.dtype.kind in "fO":
            flat = [self._node(v, f"{where}[{i}]") for i, v in enumerate(flat)]
        dtype = "str" if value.dtype.kind == "U" else value.dtype.name
        return {"__array__": dtype, "shape": list(value.shape), "values": flat}

    def _trees(self, value: Trees, where: str):
        name = f"{BOOSTERS}/{self.boosters:03d}.txt"
        self.boosters += 1
        (self.folder / BOOSTERS).mkdir(exist_ok=True)
        value.booster_.save_model(str(self.folder / name))
        return {"__trees__": name, "classes": self._node(value.classes_, f"{where}.classes_")}

    def _object(self, value, where: str):
        cls = type(value)
        if not _is_saved_class(cls):
            raise TypeError(
                f"cannot save {where}: a {_name(cls)}; a saved learner holds adapt's learners, "
                "their LightGBM models and plain values only"
            )
        unsaved = set(getattr(cls, "unsaved_state", ()))
        state = {
            k: self._node(v, f"{where}.{k}")
            for k, v in vars(value).items()
            if not k.startswith("_") and k not in unsaved
        }
        return {"__object__": _name(cls), "state": state}


def _children(value):
    if isinstance(value, list | tuple):
        return value
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, np.ndarray):
        return value.ravel().tolist() if value.dtype.kind == "O" else ()
    if isinstance(value, Trees):
        return (value.classes_,)
    return list(vars(value).values()) if _is_saved_class(type(value)) else ()  # else refused


def _is_saved_class(cls: type) -> bool:
    from adapt.models._base import MultiTreatmentLearner

    adapts = cls.__module__.startswith("adapt.")
    return adapts and (issubclass(cls, MultiTreatmentLearner) or _name(cls) in saved_classes())


class _Reader:
    def __init__(self, folder: Path):
        self.folder, self.shared = folder, {}

    def value(self, node, where: str):
        if isinstance(node, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        tag = next((k for k in node if k in TAGS), None)
        if tag is None:
            return {k: self.value(v, f"{where}[{k!r}]") for k, v in node.items()}
        body = node[tag]
        if tag == "__shared__":
            self.shared[body] = found = self.value(node["value"], where)
            return found
        if tag == "__ref__":
            return self.shared[body]
        if tag == "__tuple__":
            return tuple(self.value(v, f"{where}[{i}]") for i, v in enumerate(body))
        if tag == "__items__":
            return {self.value(k, where): self.value(v, where) for k, v in body}
        if tag == "__float__":
            return float(body)
        if tag == "__scalar__":
            return np.dtype(body).type(self.value(node["value"], where))
        if tag == "__array__":
            values = [self.value(v, where) for v in node["values"]]
            dtype = object if body == "object" else (str if body == "str" else np.dtype(body))
            array = np.empty(len(values), dtype=object) if dtype is object else None
            if array is not None:
                array[:] = values
            else:
                array = np.array(values, dtype=dtype)
            return array.reshape(node["shape"])
        if tag == "__trees__":
            return Trees(self._booster(body, where), self.value(node["classes"], where))
        return self._object(body, node["state"], where)

    def _booster(self, name: str, where: str) -> lgb.Booster:
        path = (self.folder / name).resolve()
        if not path.is_relative_to((self.folder / BOOSTERS).resolve()) or not path.is_file():
            raise ValueError(
                f"{where}: the booster file {name!r} is not in {self.folder / BOOSTERS}"
            )
        return lgb.Booster(model_file=str(path))

    def _object(self, name: str, state: dict, where: str):
        module, _, qualname = name.rpartition(".")
        cls = None
        if module.startswith("adapt."):
            cls = getattr(importlib.import_module(module), qualname, None)
        if not isinstance(cls, type) or not _is_saved_class(cls):
            raise ValueError(f"{where}: {name!r} is not a class a saved learner may hold")
        made = cls.__new__(cls)
        fields = {k: self.value(v, f"{where}.{k}") for k, v in state.items()}
        if hasattr(made, "__setstate__"):
            made.__setstate__(fields)  # a learner's fills in what older saves lack
        else:
            vars(made).update(fields)
        return made
