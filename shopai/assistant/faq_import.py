"""Import FAQs from CSV (question,answer,language) or JSON (a list of objects with those keys)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from shopai.models import FAQ

LANGUAGES = {choice.value for choice in FAQ.Language}
QUESTION_LENGTH = FAQ._meta.get_field("question").max_length


class FAQFileError(ValueError):
    """The file as a whole cannot be read."""


@dataclass
class FAQImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # ("line 4", reason)
    faq_ids: list[int] = field(default_factory=list)


def _rows(path: Path) -> Iterator[tuple[str, dict]]:
    """(where, row) pairs; where is "line N" in a CSV file and "item N" in a JSON list."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FAQFileError(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
        if not isinstance(data, list):
            raise FAQFileError("A JSON FAQ file must hold a list of objects with question, answer and language.")
        for number, item in enumerate(data, start=1):
            yield f"item {number}", item
        return
    reader = csv.DictReader(text.splitlines(keepends=True))
    missing = {"question", "answer"} - set(reader.fieldnames or [])
    if missing:
        raise FAQFileError(f"The CSV header lacks {', '.join(sorted(missing))}; expected question,answer,language.")
    for row in reader:
        breaks = sum(value.count("\n") for value in row.values() if isinstance(value, str))
        yield f"line {reader.line_num - breaks}", row


def _clean(item) -> dict:
    if not isinstance(item, dict):
        raise ValueError("expected an object with question, answer and language")
    question = item.get("question")
    answer = item.get("answer")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question is empty")
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError("answer is empty")
    if len(question.strip()) > QUESTION_LENGTH:
        raise ValueError(f"question is longer than {QUESTION_LENGTH} characters")
    language = item.get("language") or "en"
    if not isinstance(language, str) or language.strip() not in LANGUAGES:
        raise ValueError(f"language {item.get('language')!r} is not one of {sorted(LANGUAGES)}")
    cleaned = {"question": question.strip(), "answer": answer.strip(), "language": language.strip()}
    for key in ("tags", "alternatives"):
        if key not in item:
            continue
        value = item.get(key)
        if value in (None, ""):
            cleaned[key] = []  # an empty cell clears the list
            continue
        if isinstance(value, str):  # CSV: "a|b|c"
            value = [part.strip() for part in value.split("|") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{key} must be a list of texts")
        cleaned[key] = value
    return cleaned


def import_faqs(path: Path, *, progress=None) -> FAQImportReport:
    """Create or update FAQs by (question, language); bad rows are rejected with their line number."""
    report = FAQImportReport()
    with transaction.atomic():
        for where, item in _rows(path):
            if progress:
                progress(1)
            try:
                data = _clean(item)
            except ValueError as exc:
                report.rejected.append((where, str(exc)))
                continue
            faq = FAQ.objects.filter(question=data["question"], language=data["language"]).first()
            if faq is None:
                faq = FAQ.objects.create(**data)
                report.created += 1
            else:
                changed = [key for key, value in data.items() if getattr(faq, key) != value]
                if not changed:
                    report.unchanged += 1
                    report.faq_ids.append(faq.pk)
                    continue
                for key in changed:
                    setattr(faq, key, data[key])
                faq.save(update_fields=[*changed, "updated_at"])
                report.updated += 1
            report.faq_ids.append(faq.pk)
    return report
