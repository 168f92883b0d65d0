"""Erase everything shopai holds about one shopper ("erase my data"); the account itself is the shop's."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from shopai.core.erasure import erase_shopper, signed_in_visitor_keys


class Command(BaseCommand):
    help = (
        "Delete a shopper's questions to the assistant and its answers, their events (signed in and as an "
        "anonymous visitor), interest profile and segment memberships; anonymise their A/B exposures. "
        "Cannot be undone. The user account is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="Their USERNAME_FIELD value (a username, or an e-mail).")
        parser.add_argument(
            "--visitor",
            action="append",
            default=[],
            metavar="KEY",
            help="An anonymous-visitor key of theirs not found in their signed-in sessions (repeatable).",
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, username, visitor, yes, **options):
        model = get_user_model()
        user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user called {username!r}.")
        if not yes and not self.confirmed(f"Erase everything shopai holds about {username!r}? This cannot be undone."):
            raise CommandError("Nothing erased.")
        keys = signed_in_visitor_keys([user.pk])[str(user.pk)] | set(visitor)
        removed = erase_shopper(user=user, visitor_keys=keys)
        self.stdout.write(f"Erased shopai's data of {username!r} ({len(keys)} visitor keys):")
        for what, count in removed.items():
            self.stdout.write(f"  {what}: {count}")
        self.stdout.write(self.style.SUCCESS(f"{sum(removed.values())} rows removed or anonymised."))

    def confirmed(self, question: str) -> bool:
        try:
            return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:  # not a terminal: only --yes erases
            return False
