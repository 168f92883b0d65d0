"""Record the shop's existing orders as purchases (new and changed orders are recorded as they are saved)."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shopai.adapters import get_order_adapter
from shopai.recommendations.events import sync_order_purchases


class Command(BaseCommand):
    help = (
        "Mirror every order of SHOPAI['ORDER_MODEL'] into purchase events (ORDER_PURCHASED_STATES decides "
        "which count), e.g. once after installing shopai. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        model = get_order_adapter().model
        if model is None:
            raise CommandError('SHOPAI["ORDER_MODEL"] is not set, so there are no orders to record.')
        pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        changed = 0
        for pk in tqdm(pks, unit="order", desc="Orders", disable=options["no_progress"]):
            changed += sync_order_purchases(order_pk=pk)
        self.stdout.write(self.style.SUCCESS(f"{len(pks)} orders checked, {changed} purchase events added or removed."))
