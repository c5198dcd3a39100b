"""Jinja2 templates of the pages adapt writes (audit report, model card, demand report).

Autoescape is on for every template: the pages show names from a user's catalogue and data
(interventions, regions, check names), so each value is escaped where it is written rather than
wherever someone remembered to.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def _environment(package: str) -> Environment:
    return Environment(
        loader=PackageLoader(package),
        autoescape=select_autoescape(default=True, default_for_string=True),
        # A field missing from the context fails loudly instead of rendering blank.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(package: str, template: str, **context) -> str:
    """`template` from `package`'s ``templates/`` folder rendered with `context`, every value
    escaped."""
    return _environment(package).get_template(template).render(**context)
