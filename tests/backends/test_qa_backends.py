"""QA readers: the sentence reader on the fake embeddings, and a tiny extractive model trained here."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from shopai.backends import get_backend, get_embedding_backend
from shopai.backends.qa import SentenceQABackend, Span, TransformersQABackend

FAKE = {"CLASS": "shopai.backends.embeddings.FakeEmbeddingBackend", "CONFIG": {}}

JACKET = "The Storm Break jacket is fully waterproof.  It can be machine washed at 30 degrees.\nShips in two days."


@pytest.fixture
def qa_settings(settings):
    """SHOPAI with a fake embedding backend under the alias "qa-fake", used by the assistant too."""
    settings.SHOPAI = {
        **settings.SHOPAI,
        "EMBEDDINGS": {"qa-fake": FAKE},
        "ASSISTANT": {**settings.SHOPAI.get("ASSISTANT", {}), "EMBEDDINGS": "qa-fake"},
    }
    return settings


def test_importing_the_qa_backends_loads_no_model_library():
    code = (
        "import sys, shopai.backends.qa;"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


# --- SentenceQABackend -------------------------------------------------------------------------


def test_sentence_reader_picks_the_sentence_that_shares_the_question_words(qa_settings):
    reader = SentenceQABackend(alias="default", config={"embeddings": "qa-fake"})

    span = reader.extract("Can it be machine washed?", JACKET, language="en")

    assert span.text == "It can be machine washed at 30 degrees."
    assert JACKET[span.start : span.end] == span.text
    assert 0.0 < span.score <= 1.0
    shipping = reader.extract("How many days until it ships?", JACKET, language="en")
    assert shipping.text == "Ships in two days."
    assert JACKET[shipping.start : shipping.end] == shipping.text


def test_sentence_reader_splits_chinese_text(qa_settings):
    context = "这件夹克完全防水。可以机洗。三天内发货。"
    reader = SentenceQABackend(alias="default", config={"embeddings": "qa-fake"})

    span = reader.extract("可以机洗吗？", context, language="zh")

    assert span == Span(text="可以机洗。", score=span.score, start=9, end=14)
    assert context[span.start : span.end] == span.text


def test_sentence_reader_reuses_the_question_vector_it_is_given(qa_settings):
    reader = SentenceQABackend(alias="default", config={"embeddings": "qa-fake"})
    embedder = get_embedding_backend("qa-fake")
    question = "Can it be machine washed?"
    without = reader.extract(question, JACKET, language="en")
    vector = embedder.embed_query(question)
    before = embedder.calls

    # Not normalised on purpose: the reader scores by cosine either way.
    span = reader.extract(question, JACKET, language="en", question_vector=3 * vector)

    # The sentences' vectors are remembered from the first call and the question is not
    # embedded again: no model call at all.
    assert embedder.calls - before == 0
    assert span.text == without.text
    assert span.score == pytest.approx(without.score, abs=1e-6)


def test_a_single_sentence_is_the_answer_and_an_empty_text_has_none(qa_settings):
    reader = SentenceQABackend(alias="default", config={"embeddings": "qa-fake"})
    context = "  Ships in two days.  "

    span = reader.extract("Is it waterproof?", context, language="en")

    assert (span.text, span.start, span.end) == ("Ships in two days.", 2, 20)
    assert 0.0 <= span.score <= 1.0
    assert reader.extract("Is it waterproof?", "  \n ", language="en") is None


def test_sentence_reader_is_configured_by_alias_and_defaults_to_the_assistant_embeddings(qa_settings):
    qa_settings.SHOPAI = {
        **qa_settings.SHOPAI,
        "QA": {"default": {"CLASS": "shopai.backends.qa.SentenceQABackend", "CONFIG": {}}},
    }

    reader = get_backend("QA")

    assert isinstance(reader, SentenceQABackend)
    assert reader.embedder is get_embedding_backend("qa-fake")
    assert reader.extract("Is the jacket waterproof?", JACKET, language="en").text.endswith("fully waterproof.")


# --- TransformersQABackend ---------------------------------------------------------------------

# (context, question, answer): the tiny model below learns these by heart.
EXAMPLES = [
    ("The jacket is waterproof. The hoodie is machine washable.", "Is the jacket waterproof?", "waterproof"),
    ("The jacket is waterproof. The hoodie is machine washable.", "How do I wash the hoodie?", "machine washable"),
    ("The boots are made of leather. The scarf is hand knitted from wool.", "What are the boots made of?", "leather"),
    ("The boots are made of leather. The scarf is hand knitted from wool.", "What is the scarf made of?", "wool"),
    ("Our tent sleeps four people and weighs 3 kg.", "How many people does the tent sleep?", "four people"),
    ("Our tent sleeps four people and weighs 3 kg.", "How heavy is the tent?", "3 kg"),
]


def _tiny_model(folder, *, train: bool) -> str:
    """A 2-layer BERT reader and its word-level tokenizer, saved like any Hugging Face model."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    words = sorted({w for c, q, _ in EXAMPLES for w in re.findall(r"\w+|[^\w\s]", f"{c} {q}".lower())})
    vocab = {token: index for index, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])}
    tokenizer = transformers.BertTokenizer(vocab=vocab)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = transformers.BertForQuestionAnswering(config)
    if train:
        batch = tokenizer([q for _, q, _ in EXAMPLES], [c for c, _, _ in EXAMPLES], padding=True, return_tensors="pt")
        starts, ends = [], []
        for row, (context, _, answer) in enumerate(EXAMPLES):
            first = context.index(answer)
            starts.append(batch.char_to_token(row, first, sequence_index=1))
            ends.append(batch.char_to_token(row, first + len(answer) - 1, sequence_index=1))
        targets = {"start_positions": torch.tensor(starts), "end_positions": torch.tensor(ends)}
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny matrices: one thread is faster than several fighting
        try:
            for _ in range(400):
                loss = model(**batch, **targets).loss
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if loss.item() < 0.01:
                    break
        finally:
            torch.set_num_threads(threads)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def reader_path(tmp_path_factory):
    return _tiny_model(tmp_path_factory.mktemp("tiny-reader"), train=True)


@pytest.mark.integration
def test_transformers_reader_extracts_the_answer_span(reader_path):
    reader = TransformersQABackend(alias="reader", config={"model": reader_path})

    for context, question, answer in EXAMPLES:
        span = reader.extract(question, context, language="en")
        assert span is not None, question
        assert span.text == answer, question
        assert context[span.start : span.end] == span.text
        assert 0.5 < span.score <= 1.0


@pytest.mark.integration
def test_transformers_reader_loads_once_by_alias_from_the_saved_folder(settings, reader_path):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "QA": {"reader": {"CLASS": "shopai.backends.qa.TransformersQABackend", "CONFIG": {"model": reader_path}}},
    }

    reader = get_backend("QA", "reader")

    assert isinstance(reader, TransformersQABackend)
    assert reader.load() is reader.load()
    assert get_backend("QA", "reader") is reader
    assert reader.extract("How heavy is the tent?", EXAMPLES[4][0], language="en").text == "3 kg"


@pytest.mark.integration
def test_transformers_reader_reads_long_texts_in_overlapping_windows(reader_path):
    reader = TransformersQABackend(
        alias="reader", config={"model": reader_path, "max_seq_length": 24, "doc_stride": 4, "max_answer_length": 3}
    )
    context = " ".join(context for context, _, _ in EXAMPLES[::2])  # over 30 tokens: several windows

    span = reader.extract("What is the scarf made of?", context, language="en")

    assert span is not None
    assert 0 <= span.start < span.end <= len(context)
    assert context[span.start : span.end] == span.text
    assert len(span.text.split()) <= 3


@pytest.mark.integration
def test_an_unsure_model_gives_no_answer_below_min_score(tmp_path):
    untrained = _tiny_model(tmp_path, train=False)
    context, question, _ = EXAMPLES[0]

    guess = TransformersQABackend(alias="reader", config={"model": untrained}).extract(question, context, language="en")
    cautious = TransformersQABackend(alias="reader", config={"model": untrained, "min_score": 0.5})

    assert guess is not None and guess.score < 0.5
    assert cautious.extract(question, context, language="en") is None


@pytest.mark.integration
def test_a_model_that_cannot_be_loaded_is_a_configuration_error_naming_the_alias(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = TransformersQABackend(alias="reader", config={"model": str(tmp_path / "no-such-model")})
    with pytest.raises(ImproperlyConfigured, match=r'SHOPAI\["QA"\]\["reader"\]\["CONFIG"\]\["model"\]'):
        missing.extract("Is it waterproof?", "It is waterproof.", language="en")

    hub = TransformersQABackend(alias="reader", config={"model": "shopai-tests/no-such-qa-model"})
    with pytest.raises(ImproperlyConfigured, match="HF_HUB_OFFLINE"):
        hub.load()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, 'needs "model"'),
        ({"model": "x", "max_answer_length": "long"}, "max_answer_length"),
        ({"model": "x", "min_score": 1.5}, "min_score"),
    ],
)
def test_bad_reader_config_is_a_configuration_error(config, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        TransformersQABackend(alias="reader", config=config)


def test_nothing_to_read_needs_no_model():
    reader = TransformersQABackend(alias="reader", config={"model": "/nowhere"})
    assert reader.extract("Is it waterproof?", "   ", language="en") is None
    assert reader._model is None
