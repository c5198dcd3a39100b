"""The command line's overrides checked before Hydra runs, so a mistake ends in one line.

Hydra reports a mistyped value or an unknown option in a block of five to fifteen lines; here the
same composition is tried first (every value of a sweep included) and its first problem is told in
one line naming the override and what is allowed. Anything this check does not understand is left
to Hydra, which then reports it as before.
"""

from __future__ import annotations

import re
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException

MULTIRUN_FLAGS = ("-m", "--multirun")


def override_problem(argv: list[str], config_dir: Path, config_name: str) -> str | None:
    """The first problem with the overrides in `argv`, in one line, or None."""
    multirun = any(arg in MULTIRUN_FLAGS for arg in argv)
    overrides = [arg for arg in argv if arg not in MULTIRUN_FLAGS]
    if any(arg.startswith("-") for arg in overrides):
        return None  # --cfg, --help, --config-name ...: Hydra's own business
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as error:
        return f"cannot read the overrides {' '.join(overrides)!r}: {_first_line(error)}"
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if sweeps and not multirun:
        text = sweeps[0].input_line
        return f"{text}: several values; add -m to sweep over them, or write key=[a,b] for a list"
    for variant in _variants(parsed):
        problem = _composition_problem(variant, config_dir, config_name)
        if problem:
            return problem
    return None


def _variants(parsed) -> list[list[str]]:
    """Override lists that together try every value of every sweep once."""
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if not sweeps:
        return [fixed]
    values = {
        id(o): [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] for o in sweeps
    }
    first = [values[id(o)][0] for o in sweeps]
    variants = [fixed + first]
    for i, sweep in enumerate(sweeps):
        for value in values[id(sweep)][1:]:
            variants.append(fixed + first[:i] + [value] + first[i + 1 :])
    return variants


def _composition_problem(overrides: list[str], config_dir: Path, config_name: str) -> str | None:
    try:
        with initialize_config_dir(str(config_dir), version_base="1.3"):
            compose(config_name, overrides=overrides, return_hydra_config=True)
    except MissingConfigException as error:
        return _missing_option(error, overrides)
    except (HydraException, OmegaConfBaseException) as error:
        cause = error.__cause__
        detail = f": {_first_line(cause)}" if cause is not None else ""
        return re.sub(r"^Error merging override ", "", f"{_first_line(error)}{detail}")
    return None


def _missing_option(error: MissingConfigException, overrides: list[str]) -> str:
    """`model=nosuch`: the option named and the ones there are."""
    text = str(error)
    group = re.search(r"Available options in '([^']+)'", text)
    if group is None:
        return _first_line(error)
    options = re.findall(r"^\t(\S+)$", text.split("Config search path")[0], flags=re.M)
    given = next((o for o in overrides if o.lstrip("+~").startswith(f"{group[1]}=")), group[1])
    return f"{given}: no such {group[1]}; expected one of {', '.join(options)}"


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else repr(error)
