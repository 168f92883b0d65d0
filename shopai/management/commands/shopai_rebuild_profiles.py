"""Rebuild shoppers' interest profiles from their events (all of them, or one user's)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shopai.models import Event
from shopai.recommendations.profiles import rebuild_profile


class Command(BaseCommand):
    help = "Recompute interest vectors from events, e.g. after importing history or embedding the catalogue."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Only this shopper (their USERNAME_FIELD: a username, or an e-mail).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, user=None, **options):
        if user:
            model = get_user_model()
            found = model._default_manager.filter(**{model.USERNAME_FIELD: user}).first()
            if found is None:
                raise CommandError(f"No user called {user!r}.")
            ids = [found.pk]
        else:
            ids = list(Event.objects.exclude(user__isnull=True).values_list("user_id", flat=True).distinct())
        built = 0
        for user_id in tqdm(sorted(ids), unit="profile", desc="Profiles", disable=options["no_progress"]):
            built += rebuild_profile(user_id=user_id) is not None
        self.stdout.write(
            self.style.SUCCESS(f"{built} profiles built, {len(ids) - built} shoppers without usable history.")
        )
