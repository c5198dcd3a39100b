"""The gender audit of the default recommender on the default world, as committed in docs/audit/.

    .venv/bin/python benchmarks/audit_report.py                 # 20,000 persons, seed 0
    .venv/bin/python benchmarks/audit_report.py --persons 5000 --out /tmp/audit

Simulates the default (MIA-calibrated) world, splits persons 70/30, fits the S-learner on the
training persons gender-blind (the default) and gender-aware (also with `RateGapCap(0.2)` on
its choices), and audits each on the held-out persons with the truth. The gender-blind audit is
written to ``--out`` (``report.html``, ``audit.json``, the model card and ``report.png``, the
report's first screen in headless Chromium); a Markdown table of the gaps before and after goes
to stdout and ``gaps.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from _markdown import markdown

from adapt.fairness import AuditResult, RateGapCap, situation_strata, write_audit, write_model_card
from adapt.features import decision_points
from adapt.models import make_learner
from adapt.pipeline import audit_held_out, simulated_data, split_persons
from adapt.policies import choose_best

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "audit")
    args = parser.parse_args()

    started = time.perf_counter()
    data = simulated_data(args.persons, args.seed, args.preset)
    rows, audits = [], {}
    for name, aware in (("gender-blind (default)", False), ("gender-aware", True)):
        points = decision_points(data.persons, data.episodes, include_sensitive=aware)
        held_out = split_persons(points.keys["person_id"], 0.3, args.seed)
        train, test = points.take(~held_out), points.take(held_out)
        model = make_learner("s", random_state=args.seed)
        model.fit(train.features, train.treatment, train.outcome, groups=train.keys["person_id"])
        p = model.predict(test.features)
        candidates = {name: choose_best(p)}
        if aware:  # the post-processor on top: the gaps the gender-aware model leaves, capped
            gender = data.persons.set_index("person_id")["gender"]
            strata = situation_strata(test.features)
            capped = RateGapCap(0.2).fit_predict(p, test.keys["person_id"].map(gender), strata)
            candidates[f"{name} + RateGapCap(0.2)"] = capped
        for label, choices in candidates.items():
            audit = audit_held_out(model, test, choices, data, seed=args.seed)
            audits[label] = (model, audit)
            rows.append(_gaps(label, audit))
            print(f"{label}: audited at {time.perf_counter() - started:.0f} s", flush=True)

    model, audit = audits["gender-blind (default)"]
    write_audit(audit, args.out)
    provenance = {
        "source": "simulated",
        "preset": args.preset,
        "persons": args.persons,
        "seed": args.seed,
        "fingerprint": data.fingerprint,
        "audited on": "30% of persons held out from training",
    }
    write_model_card(args.out, model, audit=audit, data=provenance)
    _screenshot(args.out / "report.html", args.out / "report.png")
    table = markdown(pd.DataFrame(rows))
    header = (
        f"Default world ({args.preset}), {args.persons:,} persons, seed {args.seed}; audited on "
        "the 30% of persons held out from training. Gaps are women minus men in a similar "
        "situation, in progression probability.\n\n"
    )
    (args.out / "gaps.md").write_text(header + table + "\n", "utf-8")
    print(header + table)


def _gaps(name: str, audit: AuditResult) -> dict:
    summary = audit.summary
    return {
        "recommender": name,
        "verdict": audit.verdict,
        "failed (recommender)": summary["checks_failed_recommender"],
        "cannot judge (recommender)": summary["checks_cannot_judge_recommender"],
        "failed (behaviour)": summary["checks_failed_behaviour"],
        "true gap, caseworkers": summary.get("true_progression_gap_behaviour"),
        "true gap, recommender": summary.get("true_progression_gap_recommender"),
        "estimated gap, recommender": summary.get("estimated_progression_gap_recommender"),
        "benefit ratio (est.)": summary.get("estimated_benefit_ratio"),
        "benefit ratio (true)": summary.get("true_benefit_ratio"),
        "lowest rate ratio": summary.get("recommender_lowest_rate_ratio"),
        "flip changed": summary.get("flip_changed_share"),
    }


def _screenshot(page: Path, png: Path) -> None:
    """The report's first screen, as a reader opening it sees it (Debian's chromium)."""
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        view = browser.new_page(viewport={"width": 1100, "height": 1000})
        view.goto(page.resolve().as_uri())
        view.screenshot(path=str(png))
        browser.close()


if __name__ == "__main__":
    main()
