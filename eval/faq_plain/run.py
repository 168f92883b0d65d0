"""Build the plain-FAQ sets and ask them through the assistant: `shopai_eval_faq --faqs`, one split.

    python eval/faq_plain/run.py --data ../shared/data --split dev [--fit] [--json out.json]

The English set is built from ../shared/data at run time into a temporary folder (it is a
CDLA-Sharing derivative, never committed); the FAQ is loaded for the run and rolled back, so the
database keeps its own FAQs. Choices are made on dev; read test once per decision.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--fit", action="store_true", help="Fit calibration and thresholds (dev only).")
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args()
    if options.fit and options.split != "dev":
        parser.error("--fit only on the dev split")
    sys.path[:0] = [str(ROOT), str(HERE)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    import build
    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        print(build.build(options.data, out))
        call_command(
            "shopai_eval_faq",
            str(out / "questions.csv"),
            faqs=out / "faq.csv",
            split=options.split,
            fit=options.fit,
            json=options.json,
        )


if __name__ == "__main__":
    main()
