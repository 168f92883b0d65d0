"""Train (or refresh) the assistant's intent classifier now, instead of on the first question."""

import time

from django.core.management.base import BaseCommand

from shopai.assistant.faqs import assistant_backend
from shopai.assistant.intents import get_intent_classifier, load_examples


class Command(BaseCommand):
    help = "Embed the intent examples and fit the classifier; the result is cached for every process."

    def handle(self, *args, **options):
        backend = assistant_backend()
        examples = load_examples()
        self.stdout.write(f"Training on {len(examples)} examples with {backend.name}…")
        started = time.perf_counter()
        classifier = get_intent_classifier(backend)
        self.stdout.write(
            self.style.SUCCESS(
                f"Ready: {len(classifier.labels)} intents in {time.perf_counter() - started:.1f}s "
                "(instant when it was already cached)."
            )
        )
