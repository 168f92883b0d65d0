"""Build the plain-FAQ evaluation sets: one question per FAQ entry, shoppers' own words as questions.

English: from ../shared/data/bitext_customer_support (CDLA-Sharing-1.0). Each intent a shop's FAQ
page answers becomes one entry (near-duplicate intents merged); its question is one of the
dataset's utterances, chosen by a fixed rule (the shortest plain interrogative one, no typos, no
entity), its answer the dataset's response to that utterance with the {{placeholders}} filled in
neutrally, and every other utterance of the intent is a shopper's question for it. Intents that
are actions on the shopper's own orders or a request for a person are not FAQ entries; their
utterances are written to other_routes.csv. Chinese entries and questions, and out-of-scope
questions in both languages, are eval/faq_plain/*.csv (written blind for this project, CC0;
out_of_scope_dev_extra.csv adds 100 development questions per language, written after the
first test reading showed 30 were too few to place a threshold).

The English files are derivatives of a CDLA-Sharing data set: they are built at run time into
--out and never committed.

    python eval/faq_plain/build.py --data ../shared/data --out /tmp/plain_faq
"""

from __future__ import annotations

import argparse
import csv
import re
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
BITEXT = Path("bitext_customer_support") / "Bitext_Sample_Customer_Support_Training_Dataset.csv"

# FAQ entry -> the dataset intents it answers (the first one gives the entry's question and answer).
ENTRIES = {
    "create_account": ["create_account"],
    "delete_account": ["delete_account"],
    "edit_account": ["edit_account"],
    "recover_password": ["recover_password"],
    "registration_problems": ["registration_problems"],
    "switch_account": ["switch_account"],
    "check_cancellation_fee": ["check_cancellation_fee"],
    "contact_customer_service": ["contact_customer_service"],
    "delivery_options": ["delivery_options"],
    "delivery_period": ["delivery_period"],
    "review": ["review"],
    "invoices": ["get_invoice", "check_invoice"],
    "newsletter_subscription": ["newsletter_subscription"],
    "place_order": ["place_order"],
    "check_payment_methods": ["check_payment_methods"],
    "payment_issue": ["payment_issue"],
    "check_refund_policy": ["check_refund_policy"],
    "shipping_address": ["change_shipping_address", "set_up_shipping_address"],
}
# Not FAQ topics: actions on the shopper's own orders, and asking for a person.
OTHER_ROUTES = {
    "cancel_order": "cancel_order",
    "change_order": "order_action",
    "track_order": "order_status",
    "get_refund": "order_action",
    "track_refund": "order_action",
    "contact_human_agent": "human_agent",
    "complaint": "human_agent",
}

PLACEHOLDER = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")


def fill(placeholder: str) -> str:
    """A neutral value for a {{placeholder}} of the dataset's responses."""
    name = placeholder.strip()
    lower = name.lower()
    if "phone" in lower:
        return "+1 555 0100"
    if "email" in lower:
        return "support@example.com"
    if "availability" in lower or "hours" in lower:
        return "Monday to Friday, 9:00-18:00"
    if "website" in lower or lower in {"url", "app"}:
        return "website"
    if "company" in lower:
        return "our shop"
    if "anonymized" in lower or lower.endswith("number") or lower.endswith(" id"):
        return "your order number"
    if "number of days" in lower or lower == "days":
        return "14"
    return name


def answer_text(response: str) -> str:
    return PLACEHOLDER.sub(lambda match: fill(match.group(1)), response).strip()


def split_of(text: str) -> str:
    """A fixed split by the text itself: the same on every machine and run."""
    return "dev" if zlib.crc32(text.strip().lower().encode("utf-8")) % 2 == 0 else "test"


def faq_question(rows: list[dict]) -> dict:
    """The entry's question: the shortest plain question among the utterances (interrogative,
    no typos, slang or offensive words, no entity; else a plain statement; else with an entity
    such as an account type), at least four words."""

    def plain(row: dict, tags: set[str], entity: bool) -> bool:
        return set(row["tags"]) <= tags and (entity or not row["entity_type"]) and len(row["instruction"].split()) >= 4

    for allowed, needed, entity in (("BILP", "I", False), ("BLP", "", False), ("BIKLP", "I", True), ("BKLP", "", True)):
        found = [row for row in rows if plain(row, set(allowed), entity) and needed in row["tags"]]
        if found:
            return min(found, key=lambda row: (len(row["instruction"]), rows.index(row)))
    return rows[0]


def generic(row: dict) -> tuple[str, str]:
    """An FAQ page is written for everybody: the dataset's annotated entity (an account type, a
    bill number) is taken out of the chosen question and its answer ("cancel my pro account" ->
    "cancel my account")."""
    question, answer = row["instruction"].strip(), answer_text(row["response"])
    value = row["entity_value"].strip()
    if value:
        start, end = int(row["start_offset"]), int(row["end_offset"])
        if question[start:end] == value:
            question = question[:start] + question[end:]
        pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w) ?", re.IGNORECASE)
        question, answer = pattern.sub("", question), pattern.sub("", answer)
    return _tidy(question), _tidy(answer)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r" +(?=[?.,!:;])", "", text)
    return re.sub(r",(?=[,.])", "", text).strip()


def build(data: Path, out: Path) -> dict[str, int]:
    with (data / BITEXT).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_intent: dict[str, list[dict]] = {}
    for row in rows:
        by_intent.setdefault(row["intent"], []).append(row)
    faqs, questions, others = [], [], []
    for entry, intents in ENTRIES.items():
        chosen = faq_question(by_intent[intents[0]])
        question, answer = generic(chosen)
        question = question[0].upper() + question[1:]  # as a FAQ page prints it
        question = question if question.endswith("?") else question.rstrip(".") + "?"
        faqs.append({"entry": entry, "question": question, "answer": answer, "language": "en"})
        seen = {chosen["instruction"].strip().lower()}
        for intent in intents:
            for row in by_intent[intent]:
                text = row["instruction"].strip()
                if text.lower() in seen:
                    continue
                seen.add(text.lower())
                questions.append(
                    {"question": text, "expected_question": question, "language": "en", "split": split_of(text)}
                )
    for intent, route in OTHER_ROUTES.items():
        for row in by_intent[intent]:
            text = row["instruction"].strip()
            others.append(
                {"question": text, "route": route, "intent": intent, "language": "en", "split": split_of(text)}
            )

    zh_faq = _read(HERE / "zh_faq.csv", key="entry")
    for entry, row in zh_faq.items():
        faqs.append({"entry": entry, "question": row["question"], "answer": row["answer"], "language": "zh"})
    for row in _read(HERE / "zh_questions.csv").values():
        questions.append(
            {
                "question": row["question"],
                "expected_question": zh_faq[row["entry"]]["question"],
                "language": "zh",
                "split": row["split"],
            }
        )
    for row in [*_read(HERE / "out_of_scope.csv").values(), *_read(HERE / "out_of_scope_dev_extra.csv").values()]:
        questions.append(
            {"question": row["question"], "expected_question": "", "language": row["language"], "split": row["split"]}
        )

    out.mkdir(parents=True, exist_ok=True)
    _write(out / "faq.csv", faqs, ["question", "answer", "language", "entry"])
    _write(out / "questions.csv", questions, ["question", "expected_question", "language", "split"])
    _write(out / "other_routes.csv", others, ["question", "route", "intent", "language", "split"])
    return {"faqs": len(faqs), "questions": len(questions), "other_routes": len(others)}


def _read(path: Path, key: str = "question") -> dict[str, dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row[key]: row for row in csv.DictReader(handle)}


def _write(path: Path, rows: list[dict], fields: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args()
    print(build(options.data, options.out))


if __name__ == "__main__":
    main()
