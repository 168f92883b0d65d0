"""Import shopping history and rebuild the interest profiles of the shoppers it touches."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shopai.recommendations.event_import import EventFileError, import_events
from shopai.recommendations.profiles import rebuild_profile


class Command(BaseCommand):
    help = (
        "Import events from FILE.csv (columns user,sku,type,timestamp; type view|search|cart|purchase). "
        "Unknown users are created as inactive accounts; unknown skus are reported and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            with tqdm(unit="event", desc="Importing", disable=options["no_progress"]) as bar:
                report = import_events(file, progress=bar.update)
        except EventFileError as exc:
            raise CommandError(str(exc)) from exc
        for line, reason in report.rejected[:50]:
            self.stderr.write(f"line {line}: rejected: {reason}")
        if report.unknown_skus:
            shown = ", ".join(f"{sku} ({n})" for sku, n in sorted(report.unknown_skus.items())[:20])
            self.stderr.write(f"{len(report.unknown_skus)} unknown skus skipped: {shown}")
        self.stdout.write(
            f"{report.imported} events imported, {report.users_created} users created, "
            f"{len(report.rejected)} rows rejected."
        )
        with tqdm(total=len(report.user_ids), unit="profile", desc="Profiles", disable=options["no_progress"]) as bar:
            for user_id in sorted(report.user_ids):
                rebuild_profile(user_id=user_id)
                bar.update(1)
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {len(report.user_ids)} interest profiles."))
