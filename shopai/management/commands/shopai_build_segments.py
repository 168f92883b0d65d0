"""Cluster shoppers' interest profiles into segments named by what they like."""

from django.core.management.base import BaseCommand, CommandError

from shopai.studio.segments import SegmentError, build_clusters


class Command(BaseCommand):
    help = "Replace the clustered customer segments (k-means over interest profiles); rule segments are kept."

    def add_arguments(self, parser):
        parser.add_argument("--k", type=int, default=None, help="Number of segments (default: from the shopper count).")

    def handle(self, *args, k=None, **options):
        if k is not None and k < 2:
            raise CommandError("--k must be 2 or more.")
        try:
            segments = build_clusters(k=k)
        except SegmentError as exc:
            raise CommandError(str(exc)) from exc
        for segment in segments:
            self.stdout.write(f"{segment.name} ({segment.users.count()} shoppers): {segment.description}")
