"""The Jinja2 templates of the audit report and the model card (``templates/``)."""

from __future__ import annotations

from adapt._templates import render_template


def render(template: str, **context) -> str:
    """The template named `template` rendered with `context`, every value escaped."""
    return render_template("adapt.fairness", template, **context)
