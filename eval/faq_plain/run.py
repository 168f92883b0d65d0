"""Build the plain-FAQ sets and ask them through the assistant: `shopai_eval_faq --faqs`, one split.

    python eval/faq_plain/run.py --data ../shared/data --split dev [--fit] [--json out.json]
        [--database NAME] [--embeddings CONFIG] [--no-extra] [--assistant SETTINGS]

The English set is built from ../shared/data at run time into a temporary folder (it is a
CDLA-Sharing derivative, never committed); the FAQ is loaded for the run and rolled back, so the
database keeps its own FAQs. Choices are made on dev; read test once per decision.

To compare models, ``--embeddings`` replaces the assistant's model (SHOPAI["ASSISTANT"]["EMBEDDINGS"])
for the run, ``--no-extra`` drops the extra models of ASSISTANT["EXTRA_EMBEDDINGS"] so a model is
measured alone, and ``--assistant`` applies ASSISTANT settings, e.g. the calibration and thresholds
a ``--fit`` run on dev wrote to its ``--json`` report (its "fitted" entry), to another split.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
from eval.options import embeddings_entry, json_object  # noqa: E402

MODEL_ALIAS = "faq-plain-eval"  # the EMBEDDINGS alias --embeddings is put under


def _settings_for(options) -> dict | None:
    """SHOPAI with the run's model and ASSISTANT overrides, or None to keep the configured one."""
    embedding = embeddings_entry(options.embeddings)
    assistant_overrides = json_object(options.assistant, "--assistant", report_part="fitted")
    if embedding is None and not options.no_extra and not assistant_overrides:
        return None
    from django.conf import settings

    from shopai.conf import DEFAULTS

    shopai = dict(settings.SHOPAI)
    assistant = {**DEFAULTS["ASSISTANT"], **shopai.get("ASSISTANT", {})}
    if embedding is not None:
        shopai["EMBEDDINGS"] = {**shopai.get("EMBEDDINGS", {}), MODEL_ALIAS: embedding}
        assistant["EMBEDDINGS"] = MODEL_ALIAS
    if options.no_extra:
        assistant["EXTRA_EMBEDDINGS"] = {}
    assistant.update(assistant_overrides or {})
    shopai["ASSISTANT"] = assistant
    return shopai


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--fit", action="store_true", help="Fit calibration and thresholds (dev only).")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--database",
        default=None,
        help="database on the embedded server to run in (SHOPAI_DATABASE_NAME; migrated first)",
    )
    parser.add_argument(
        "--embeddings",
        default=None,
        help="the assistant's model for this run instead of ASSISTANT['EMBEDDINGS']: a JSON object like an "
        'EMBEDDINGS entry, {"CLASS": ..., "CONFIG": {...}}, or the path of a .json file holding one',
    )
    parser.add_argument(
        "--no-extra", action="store_true", help="Drop ASSISTANT['EXTRA_EMBEDDINGS']: the assistant's model alone."
    )
    parser.add_argument(
        "--assistant",
        default=None,
        help="ASSISTANT settings to apply (JSON object or .json file), e.g. the --json report of a --fit "
        "run on dev, whose fitted CALIBRATION and CONFIDENCE_THRESHOLD are then used",
    )
    options = parser.parse_args()
    if options.fit and options.split != "dev":
        parser.error("--fit only on the dev split")
    sys.path[:0] = [str(ROOT), str(HERE)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    if options.database:
        os.environ["SHOPAI_DATABASE_NAME"] = options.database  # read by config/embedded.py at import
    import django

    django.setup()
    import build
    from django.core.management import call_command
    from django.test.utils import override_settings

    if options.database:
        call_command("migrate", interactive=False, verbosity=0)
    shopai = _settings_for(options)
    if shopai is not None:
        override_settings(SHOPAI=shopai).enable()
        print(f"ASSISTANT for this run: {json.dumps(shopai['ASSISTANT'], ensure_ascii=False, default=str)}")
        if options.embeddings:
            print(f"EMBEDDINGS[{MODEL_ALIAS!r}]: {json.dumps(shopai['EMBEDDINGS'][MODEL_ALIAS])}")

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
