"""Load the demo shop (catalogue, customers, orders, browsing) into an empty database."""

import csv
import random
import tempfile
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from shopai.studio.campaigns import set_consent
from store.catalog_import import import_catalog
from store.demo_accounts import ADMIN_PASSWORD, ADMIN_USERNAME, SHOPPER_PASSWORD
from store.models import Order, OrderItem, Product, ProductView

CATALOG = Path(__file__).resolve().parents[2] / "demo_data" / "catalog.csv"
CUSTOMERS = [  # username, first name, interests (category words)
    ("alice", "Alice", ["Outdoor", "Sports"]),
    ("bob", "Bob", ["Electronics", "Office"]),
    ("carmen", "Carmen", ["Beauty", "Home", "Grocery"]),
    ("chenwei", "陈伟", ["数码", "食品", "户外"]),
]


def _shipping_days_ago(status: str, *, late: bool) -> tuple[int | None, int | None]:
    """Days since an order of the demo (placed 30, 20 or 10 days ago) shipped and was delivered.

    The delivered order arrived 27 days ago, so it may still be returned for a few days; the shipped
    one is on its way, except the first shopper's, which shipped 9 days ago and has not arrived
    (a late parcel, for the assistant's delivery answers).
    """
    if status == Order.Status.DELIVERED:
        return 29, 27
    if status == Order.Status.SHIPPED:
        return (9 if late else 2), None
    return None, None


class Command(BaseCommand):
    help = "Fill an empty database with the demo shop; does nothing if products already exist (unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load even if the catalogue is not empty.")

    def handle(self, *args, **options):
        self._ensure_admin()
        if Product.objects.exists() and not options["force"]:
            self.stdout.write("Catalogue already has products; demo data not loaded.")
            return
        with CATALOG.open(encoding="utf-8", newline="") as handle:
            report = import_catalog(handle)
        self.stdout.write(f"Catalogue: {report.created} created, {report.updated} updated.")
        self._customers()

    def _ensure_admin(self):
        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
            self.stdout.write(f"Created superuser {ADMIN_USERNAME}.")

    @transaction.atomic
    def _customers(self):
        User = get_user_model()
        rng = random.Random(7)
        now = timezone.now()
        for username, first_name, interests in CUSTOMERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first_name, "email": f"{username}@example.com"}
            )
            if not created and user.orders.exists():
                continue  # --force on a loaded shop: keep this shopper's history as it is
            user.set_password(SHOPPER_PASSWORD)
            user.save()
            liked = [
                product
                for product in Product.objects.select_related("category", "category__parent")
                if any(word in product.category.full_name for word in interests)
            ]
            rng.shuffle(liked)
            for product in liked[:12]:
                view = ProductView.objects.create(user=user, product=product)
                ProductView.objects.filter(pk=view.pk).update(viewed_at=now - timedelta(hours=rng.randint(1, 400)))
            statuses = [Order.Status.DELIVERED, Order.Status.SHIPPED, Order.Status.PAID]
            for number, status in enumerate(statuses):
                items = liked[number * 2 : number * 2 + 2]
                if not items:
                    continue
                shipped, delivered = _shipping_days_ago(status, late=username == CUSTOMERS[0][0])
                order = Order.objects.create(
                    user=user,
                    status=status,
                    tracking_number=f"TRK{user.pk:03d}{number:04d}" if status != Order.Status.PAID else "",
                    shipped_at=None if shipped is None else now - timedelta(days=shipped),
                    delivered_at=None if delivered is None else now - timedelta(days=delivered),
                )
                Order.objects.filter(pk=order.pk).update(created_at=now - timedelta(days=30 - number * 10))
                for product in items:
                    OrderItem.objects.create(order=order, product=product, quantity=1, unit_price=product.price)
        # Three of the four agreed to marketing e-mail at sign-up; the demo's campaigns reach them only.
        for username, _name, _interests in CUSTOMERS[:3]:
            set_consent(User.objects.get(username=username), consented=True, source="signup (demo)")
        self.stdout.write(f"Customers: {', '.join(name for name, _, _ in CUSTOMERS)} (password {SHOPPER_PASSWORD}).")
        self._share_history_with_shopai()

    def _share_history_with_shopai(self):
        """Hand the demo customers' browsing to shopai, as a shop importing its history would.

        Their orders need no export: shopai records orders as purchases when they are saved.
        """
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "events.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["user", "sku", "type", "timestamp"])
                for view in ProductView.objects.select_related("user", "product"):
                    writer.writerow([view.user.username, view.product.sku, "view", view.viewed_at.isoformat()])
            call_command("shopai_import_events", str(path), no_progress=True, stdout=self.stdout)
