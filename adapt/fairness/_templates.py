"""The Jinja2 templates of the audit report and the model card (``templates/``).

Autoescape is on for every template: the pages show names from a user's catalogue and data
(interventions, regions, check names), so each value is escaped where it is written rather than
wherever someone remembered to.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("adapt.fairness"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        # A field missing from the context fails loudly instead of rendering blank.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context) -> str:
    """The template named `template` rendered with `context`, every value escaped."""
    return _environment().get_template(template).render(**context)
