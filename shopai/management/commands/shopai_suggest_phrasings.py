"""Suggest other phrasings of FAQs with the generation backend, for staff to review in admin."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shopai.assistant import phrasings as faq_phrasings
from shopai.backends import BackendError
from shopai.models import FAQ


class Command(BaseCommand):
    help = (
        "Ask the generation backend (ASSISTANT['PHRASINGS']['BACKEND']) for other ways shoppers could ask "
        "each published FAQ, and store them as suggestions: they are not used until accepted in admin "
        "(FAQs › action 'Accept the suggested phrasings'), or here with --accept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=5, help="Phrasings per FAQ (default 5).")
        parser.add_argument("--language", choices=["en", "zh"], default=None)
        parser.add_argument("--accept", action="store_true", help="Accept them at once (no review).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, count: int, language, accept: bool, **options):
        if count < 1:
            raise CommandError("--count must be 1 or more.")
        faqs = FAQ.objects.filter(is_published=True).order_by("pk")
        if language:
            faqs = faqs.filter(language=language)
        suggested = accepted = 0
        for faq in tqdm(list(faqs), unit="FAQ", desc="Suggesting", disable=options["no_progress"]):
            try:
                suggested += len(faq_phrasings.suggest(faq, count=count))
            except BackendError as exc:
                raise CommandError(f"The generation backend failed on FAQ {faq.pk}: {exc}") from exc
            if accept:
                faq.refresh_from_db()
                accepted += faq_phrasings.accept(faq)
        self.stdout.write(
            f"{suggested} phrasings suggested for {faqs.count()} FAQs"
            + (f"; {accepted} accepted." if accept else "; review them in admin (FAQs).")
        )
