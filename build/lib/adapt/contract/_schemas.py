"""Per-table pandera schemas built from the catalogue, and the dtype rules pandera cannot express.

Columns are declared with `dtype=None` and their kind in `metadata["kind"]`: the contract accepts
several pandas spellings of one kind (str / string / object of str; int64 / Int64; a whole-valued
float for the nullable `exit_day`), which pandera's exact dtype matching would reject or coerce.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as pdt

from adapt.catalogue import Catalogue
from adapt.contract._violations import Violation, from_failure_cases

GENDERS = ("woman", "man", "unknown")
INCOME_SOURCES = (
    "sickness_benefit",
    "activity_compensation",
    "sickness_compensation",
    "social_assistance",
    "unemployment_benefit",
    "no_income",
    "other",
)
REFERRAL_SOURCES = ("municipality", "employment_service", "social_insurance", "healthcare", "self")
EDUCATION = ("compulsory", "upper_secondary", "post_secondary", "unknown")
SWEDISH_LEVELS = ("weak", "basic", "fluent")
EXIT_REASONS = (
    "work",
    "studies",
    "work_preparatory",
    "other_support",
    "sickness_compensation",
    "dropped_out",
    "moved",
    "ongoing",
)
AGE_RANGE = (16, 67)
EXTRA_PREFIX = "x_"


def _col(kind: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(None, list(checks), nullable=nullable, metadata={"kind": kind})


def _one_of(values) -> pa.Check:
    return pa.Check.isin(list(values), error=f"not one of {' | '.join(values)} (got {{values}})")


def _in_catalogue(values) -> pa.Check:
    return pa.Check.isin(list(values), error="not in the catalogue (got {values})")


def _between(lo, hi) -> pa.Check:
    return pa.Check.in_range(lo, hi, error=f"outside {lo}..{hi}")


def _at_least(lo) -> pa.Check:
    return pa.Check.ge(lo, error=f"below {lo}")


def _finite() -> pa.Check:
    # inf passes ">= 0" but no one spends infinite hours or years on support
    return pa.Check.lt(np.inf, error="infinite")


def _schema(name: str, columns: dict[str, pa.Column]) -> pa.DataFrameSchema:
    # the regex column admits x_ covariates of any dtype, nulls included; strict flags the rest
    extra = pa.Column(None, regex=True, required=False, nullable=True)
    return pa.DataFrameSchema({**columns, f"^{EXTRA_PREFIX}": extra}, strict=True, name=name)


def persons_schema(catalogue: Catalogue) -> pa.DataFrameSchema:
    return _schema(
        "persons",
        {
            "person_id": _col("str"),
            "gender": _col("str", _one_of(GENDERS)),
            "age": _col("int", _between(*AGE_RANGE)),
            "region": _col("str", _in_catalogue(catalogue.region_codes)),
            "years_on_support": _col("float", _at_least(0), _finite()),
            "income_source": _col("str", _one_of(INCOME_SOURCES)),
            "referral_source": _col("str", _one_of(REFERRAL_SOURCES)),
            "education": _col("str", _one_of(EDUCATION)),
            "born_abroad": _col("bool"),
            "swedish_level": _col("str", _one_of(SWEDISH_LEVELS)),
            "mental_ill_health": _col("bool"),
            "violence_exposure": _col("bool"),
            "exit_day": _col("nullable_int", _at_least(0), nullable=True),
            "exit_reason": _col("str", _one_of(EXIT_REASONS)),
        },
    )


def episodes_schema(catalogue: Catalogue) -> pa.DataFrameSchema:
    return _schema(
        "episodes",
        {
            "person_id": _col("str"),
            "episode_no": _col("int", _at_least(1)),
            "intervention": _col("str", _in_catalogue(catalogue.intervention_codes)),
            "start_day": _col("int", _at_least(0)),
            "end_day": _col("int"),  # end >= start is a cross-column rule
            "hours": _col("float", _at_least(0), _finite()),
            "step_before": _col("int", _between(0, catalogue.max_step)),
            "step_after": _col("int", _between(0, catalogue.max_step)),
        },
    )


def truth_schema(catalogue: Catalogue) -> pa.DataFrameSchema:
    return _schema(
        "truth",
        {
            "person_id": _col("str"),
            "episode_no": _col("int", _at_least(1)),
            "intervention": _col("str", _in_catalogue(catalogue.intervention_codes)),
            "p_progress": _col("float", _between(0, 1)),
        },
    )


def schema_for(table: str, catalogue: Catalogue) -> pa.DataFrameSchema:
    return {"persons": persons_schema, "episodes": episodes_schema, "truth": truth_schema}[table](
        catalogue
    )


def check_schema(
    table: str, df: pd.DataFrame, schema: pa.DataFrameSchema
) -> tuple[list[Violation], set[str]]:
    """Validate `df` lazily against `schema` without touching it.

    Returns the violations and the contract columns that are present with an acceptable dtype
    (the cross-table rules run only on those).
    """
    violations: list[Violation] = []
    repeated = set(df.columns[df.columns.duplicated()])
    for name in repeated:
        rule = "duplicate column (the first is checked)"
        violations.append(Violation(table, str(name), rule))
    df = df.loc[:, ~df.columns.duplicated()] if repeated else df

    usable: set[str] = set()
    no_checks: dict[str, dict] = {}
    for name, column in schema.columns.items():
        if column.regex or name not in df.columns:
            continue
        problem = dtype_problem(df[name], column.metadata["kind"])
        if problem:
            violations.append(Violation(table, name, f"wrong dtype: {problem}"))
            # value checks would fail on the wrong type; the null check still applies
            no_checks[name] = {"checks": []}
        elif name not in repeated:  # the caller's df[name] would be a frame, not a column
            usable.add(name)
    if no_checks:
        schema = schema.update_columns(no_checks)

    # a 0..n-1 index makes pandera's reported index labels row positions; no copy under CoW
    try:
        schema.validate(df.reset_index(drop=True), lazy=True)
    except pa.errors.SchemaErrors as err:
        violations += from_failure_cases(table, err.failure_cases, list(schema.columns))
    return violations, usable


def dtype_problem(series: pd.Series, kind: str) -> str | None:
    """Why `series` cannot hold a column of `kind`, or None if it can."""
    dtype = series.dtype
    ok = {
        "str": _is_str,
        "int": _is_int,
        "nullable_int": _is_nullable_int,
        "float": lambda s: _is_int(s) or pdt.is_float_dtype(s.dtype),
        "bool": _is_bool,
    }[kind](series)
    if ok:
        return None
    expected = "int" if kind == "nullable_int" else kind
    got = str(dtype)
    if pdt.is_object_dtype(dtype):
        held = pd.api.types.infer_dtype(series, skipna=True)
        # strings in an object column (pandas before 3) read as pandas 3's str column does
        got = "str" if held == "string" else f"{got} holding {held} values"
    elif kind == "nullable_int" and pdt.is_float_dtype(dtype):
        got += " with fractional or infinite values"
    return f"expected {expected}, got {got}"


def _is_str(s: pd.Series) -> bool:
    dtype = s.dtype
    if isinstance(dtype, pd.StringDtype):
        return True
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(dtype.categories, skipna=True) in ("string", "empty")
    return pdt.is_object_dtype(dtype) and pd.api.types.infer_dtype(s, skipna=True) in (
        "string",
        "empty",
    )


def _is_int(s: pd.Series) -> bool:
    # is_integer_dtype is False for bool, which is what we want: True is not an age
    return pdt.is_integer_dtype(s.dtype)


def _is_nullable_int(s: pd.Series) -> bool:
    if _is_int(s):
        return True
    if not pdt.is_float_dtype(s.dtype):
        return False
    # pandas reads an int column with blanks as float64; accept it if every value is whole
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    values = values[~np.isnan(values)]
    return bool(np.all(np.isfinite(values) & (values == np.floor(values))))


def _is_bool(s: pd.Series) -> bool:
    dtype = s.dtype
    if pdt.is_bool_dtype(dtype) and not pdt.is_object_dtype(dtype):
        return True
    # CSV bools with blanks come back as object; accept so the blanks are reported as nulls
    return pdt.is_object_dtype(dtype) and pd.api.types.infer_dtype(s, skipna=True) in (
        "boolean",
        "empty",
    )
