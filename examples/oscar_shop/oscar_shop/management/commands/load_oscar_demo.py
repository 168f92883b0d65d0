"""A small oscar catalogue written for this example: categories two levels deep, a product with
variants, one product that is not public, one out of stock, a Chinese product, a shopper with an
order of a variant, and a few FAQs. Idempotent: an existing catalogue is left alone."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from oscar.core.loading import get_model

from shopai.models import FAQ

Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
ProductAttribute = get_model("catalogue", "ProductAttribute")
ProductCategory = get_model("catalogue", "ProductCategory")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
Order = get_model("order", "Order")
Line = get_model("order", "Line")

SHOPPER_EMAIL = "alice@example.com"
SHOPPER_PASSWORD = "shopper-demo"
STAFF_EMAIL = "staff@example.com"
STAFF_PASSWORD = "staff-demo"

# (upc, title, description, class, category path, price, stock, public, variants [(upc, size, stock)])
CATALOGUE = [
    ("TEE-MERINO", "Merino trail T-shirt", "A light merino wool T-shirt that wicks sweat and stays fresh on "
     "multi-day hikes.", "Clothing", "Clothing > Tops", Decimal("49.00"), None, True,
     [("TEE-MERINO-S", "S", 4), ("TEE-MERINO-M", "M", 0), ("TEE-MERINO-L", "L", 7)]),
    ("JKT-STORM", "Storm shell jacket", "Waterproof and breathable three-layer shell with taped seams and "
     "a helmet-compatible hood.", "Clothing", "Clothing > Jackets", Decimal("189.00"), 6, True, []),
    ("SHOE-TRAIL", "Trail running shoes", "Grippy lugged soles for muddy trails, a rock plate and a quick "
     "lacing system.", "Footwear", "Footwear", Decimal("129.00"), 3, True, []),
    ("STOVE-MINI", "Mini gas stove", "A 90-gram canister stove that boils a litre of water in four "
     "minutes.", "Camping", "Outdoor > Cooking", Decimal("39.00"), 12, True, []),
    ("POT-TI", "Titanium cook pot", "A 750 ml titanium pot with a lid that doubles as a frying pan.",
     "Camping", "Outdoor > Cooking", Decimal("45.00"), 0, True, []),
    ("LAMP-HEAD", "Rechargeable head torch", "400 lumens, red night mode, USB-C charging, six hours on "
     "high.", "Camping", "Outdoor > Lighting", Decimal("35.00"), 20, True, []),
    ("CUP-ZH", "户外保温杯", "不锈钢真空保温杯，500毫升，保温十二小时，适合徒步和露营。", "Camping",
     "Outdoor > Cooking", Decimal("25.00"), 9, True, []),
    ("PROTO-TENT", "Prototype ultralight tent", "Not for sale yet: a 700-gram single-wall tent.", "Camping",
     "Outdoor > Shelter", Decimal("399.00"), 1, False, []),
]  # fmt: skip

FAQS = [
    ("How long does delivery take?", "Orders leave our warehouse within one working day; delivery takes "
     "two to four working days."),
    ("How do I return an item?", "You can return unworn items within 30 days: start a return from your "
     "order page and print the label."),
    ("Which payment methods do you accept?", "We accept Visa, Mastercard, PayPal and bank transfer."),
]  # fmt: skip


class Command(BaseCommand):
    help = "Load the example oscar shop's catalogue, shopper, order and FAQs (only into an empty catalogue)."

    @transaction.atomic
    def handle(self, *args, **options):
        if Product.objects.exists():
            self.stdout.write("The catalogue is not empty; nothing loaded.")
            return
        partner, _ = Partner.objects.get_or_create(name="Example warehouse")
        size = {}
        for upc, title, description, class_name, path, price, stock, public, variants in CATALOGUE:
            product_class, _ = ProductClass.objects.get_or_create(name=class_name, defaults={"requires_shipping": True})
            if variants and class_name not in size:
                size[class_name], _ = ProductAttribute.objects.get_or_create(
                    product_class=product_class, code="size", defaults={"name": "Size", "type": "text"}
                )
            structure = Product.PARENT if variants else Product.STANDALONE
            product = Product.objects.create(
                upc=upc, title=title, description=description, product_class=product_class,
                structure=structure, is_public=public,
            )  # fmt: skip
            ProductCategory.objects.create(product=product, category=self._category(path))
            if not variants:
                StockRecord.objects.create(
                    product=product, partner=partner, partner_sku=upc, price=price, num_in_stock=stock
                )
            for child_upc, child_size, child_stock in variants:
                child = Product.objects.create(upc=child_upc, parent=product, structure=Product.CHILD, title="")
                child.attr.size = child_size
                child.attr.save()
                StockRecord.objects.create(
                    product=child, partner=partner, partner_sku=child_upc, price=price, num_in_stock=child_stock
                )
        self._people_and_orders()
        for question, answer in FAQS:
            FAQ.objects.get_or_create(question=question, defaults={"answer": answer, "language": "en"})
        self.stdout.write(f"Loaded {Product.objects.count()} products, {len(FAQS)} FAQs and one order.")

    def _category(self, path: str):
        parent = None
        for name in [part.strip() for part in path.split(">")]:
            found = (parent.get_children() if parent else Category.get_root_nodes()).filter(name=name).first()
            if found is None:
                found = parent.add_child(name=name) if parent else Category.add_root(name=name)
            parent = found
        return parent

    def _people_and_orders(self):
        User = get_user_model()
        alice = User.objects.create_user(username="alice", email=SHOPPER_EMAIL, password=SHOPPER_PASSWORD)
        User.objects.create_user(
            username="staff", email=STAFF_EMAIL, password=STAFF_PASSWORD, is_staff=True, is_superuser=True
        )
        variant = Product.objects.get(upc="TEE-MERINO-L")
        stove = Product.objects.get(upc="STOVE-MINI")
        order = Order.objects.create(
            number="100001", user=alice, status="Complete", currency="EUR", date_placed=timezone.now(),
            total_incl_tax=Decimal("88.00"), total_excl_tax=Decimal("88.00"),
        )  # fmt: skip
        for product in (variant, stove):
            record = product.stockrecords.first()
            Line.objects.create(
                order=order, product=product, stockrecord=record, partner=record.partner,
                partner_name=record.partner.name, partner_sku=record.partner_sku, title=product.get_title(),
                quantity=1, num_allocated=0, line_price_incl_tax=record.price, line_price_excl_tax=record.price,
                line_price_before_discounts_incl_tax=record.price, line_price_before_discounts_excl_tax=record.price,
            )  # fmt: skip
