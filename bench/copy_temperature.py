"""How often SmolLM2 drafts invent facts, and how much they merely copy the source, by temperature.

Runs the copy service's prompt for N products of the shop's catalogue (English and Chinese) at
each temperature and reports: share of drafts the grounding guard flags, and share of the draft's
word 4-grams (character 4-grams for Chinese) found verbatim in the product's data (1.0 = a copy).

    .venv/bin/python manage.py shell < bench/copy_temperature.py     # or: python bench/copy_temperature.py
"""

import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
import django  # noqa: E402

django.setup()

from shopai.adapters import get_product_adapter  # noqa: E402
from shopai.backends.generation import LlamaCppBackend  # noqa: E402
from shopai.studio.copy import (  # noqa: E402
    CopyRequest,
    build_messages,
    drop_echoed_facts,
    drop_unfinished,
    guard_flags,
    tidy,
)

TEMPERATURES = [float(t) for t in os.environ.get("TEMPERATURES", "0.2,0.4,0.7").split(",")]
PER_LANGUAGE = int(os.environ.get("PRODUCTS", "10"))


def grams(text: str, language: str) -> set:
    if language == "zh":
        chars = [c for c in text if not c.isspace()]
        return {"".join(chars[i : i + 4]) for i in range(len(chars) - 3)}
    words = text.lower().split()
    return {" ".join(words[i : i + 4]) for i in range(len(words) - 3)}


def main() -> None:
    adapter = get_product_adapter()
    products = []
    for language in ("en", "zh"):
        chosen = list(adapter.get_queryset().filter(language=language).order_by("sku"))
        step = max(1, len(chosen) // PER_LANGUAGE)
        products += [(language, p) for p in chosen[::step][:PER_LANGUAGE]]
    results = {}
    for temperature in TEMPERATURES:
        backend = LlamaCppBackend(alias="bench", config={"temperature": temperature, "max_tokens": 320, "seed": 1})
        flagged, copied, seconds = {"en": [], "zh": []}, {"en": [], "zh": []}, time.perf_counter()
        for language, product in products:
            request = CopyRequest.from_dict({"length": "short", "language": language})
            facts = adapter.get_facts(product)
            result = backend.generate(build_messages(facts, request), max_tokens=80)
            text = drop_echoed_facts(tidy(result.text, request), facts)
            if result.finish_reason == "length":
                text = drop_unfinished(text, request)
            flagged[language].append(bool(guard_flags(text, facts, language=language)))
            own = grams(text, language)
            copied[language].append(len(own & grams(facts, language)) / len(own) if own else 1.0)
        row = {}
        for language in ("en", "zh"):
            n = len(flagged[language])
            row[language] = {
                "drafts": n,
                "flagged": round(sum(flagged[language]) / n, 3),
                "copied_4grams": round(sum(copied[language]) / n, 3),
            }
        row["seconds_per_draft"] = round((time.perf_counter() - seconds) / len(products), 2)
        results[temperature] = row
        print(temperature, json.dumps(row), flush=True)
    out = REPO / "bench" / "results" / "copy_temperature.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"Wrote {out.relative_to(REPO)}")


main()
