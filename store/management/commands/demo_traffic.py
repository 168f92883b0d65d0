"""A month of shopper activity for the demo, so the "AI insights" pages have something to show.

Everything goes through shopai's own code paths — the assistant answers real questions, search and
the recommenders rank the real catalogue, lists and clicks are recorded by the tracking code, the
A/B test assigns and converts visitors — and is then spread over the last 30 days. Run by `make demo`
after the index is built; does nothing when traffic was already generated (unless --force).
Deterministic (seeded), so screenshots of a fresh demo look alike.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from shopai.assistant import answer_question, record_feedback
from shopai.core import tracking
from shopai.models import Exchange, Experiment, Exposure, HandoffCase, ListClick, ListImpression, Variant
from shopai.recommendations import bought_together, recommend_for_user, similar_products
from shopai.search import search_products
from shopai.studio.experiments import assign, convert
from store.models import Order, Product

DAYS = 30
# What demo visitors type: queries that the catalogue answers, a few it does not (no results, or
# results nobody wants), in English and Chinese.
SEARCHES = [
    ("waterproof jacket", 14), ("tent", 12), ("running shoes", 10), ("headphones", 10), ("coffee", 8),
    ("rice cooker", 6), ("keyboard", 6), ("sunscreen", 5), ("gift for dad", 5), ("yoga mat", 4),
    ("冲锋衣", 8), ("耳机", 6), ("茶叶", 5), ("帐篷", 4),
    ("xbox controller", 4), ("wedding dress", 3), ("bicycle", 3),
]  # fmt: skip
QUESTIONS = [
    ("How long does shipping take?", 9), ("Can I return an item?", 8), ("Do you ship internationally?", 6),
    ("What payment methods do you accept?", 5), ("How do I change my password?", 3),
    ("Is there a discount for students?", 4), ("Do you sell gift cards?", 4), ("Can I pick up in a store?", 3),
    ("I want to talk to a person", 3), ("This is useless, my parcel is broken and nobody answers!", 2),
    ("多久能发货？", 5), ("可以退货吗？", 4), ("有没有学生优惠？", 2), ("我要人工客服", 2),
]  # fmt: skip
VISITORS = 60


class Command(BaseCommand):
    help = (
        "Generate a month of demo shopper activity (questions, searches, clicks, an A/B test) for the insights pages."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Generate again even if traffic exists.")

    def handle(self, *args, **options):
        if ListImpression.objects.exists() and not options["force"]:
            self.stdout.write("Demo traffic already generated.")
            return
        rng = random.Random(11)
        now = timezone.now()
        shoppers = list(get_user_model().objects.filter(is_staff=False, orders__isnull=False).distinct())
        factory = RequestFactory()

        def request_for(visitor: int):
            request = factory.get("/")
            request.user = shoppers[visitor % len(shoppers)] if visitor < len(shoppers) else _Anonymous()
            request.session = {"shopai_visitor": f"demo-visitor-{visitor}"}
            request.LANGUAGE_CODE = "en"
            return request

        self.stdout.write("Demo traffic: searches…")
        searched = 0
        for query, times in SEARCHES:
            hits = search_products(query=query, k=10)
            if query in ("wedding dress", "bicycle"):
                hits = []  # a catalogue without them: shoppers find nothing
            items = [(hit.product.pk, hit.via) for hit in hits]
            for _ in range(times * 2):
                request = request_for(rng.randrange(VISITORS))
                token = tracking.list_shown(
                    kind="search", placement="search_page", items=items, request=request, query=query
                )
                tracking.flush()
                searched += 1
                if items and query != "xbox controller" and rng.random() < 0.55:
                    position = min(len(items) - 1, int(rng.expovariate(0.7)))
                    tracking.record_click(token=token, product_pk=items[position][0], request=request)

        self.stdout.write("Demo traffic: recommendations…")
        products = list(Product.objects.filter(is_active=True)[:40])
        for round_ in range(120):
            visitor = rng.randrange(VISITORS)
            request = request_for(visitor)
            user = request.user if request.user.is_authenticated else None
            if round_ % 3 == 0:
                placement, recs = "recommendations", recommend_for_user(user=user, k=4)
            elif round_ % 3 == 1:
                placement, recs = "similar", similar_products(product=rng.choice(products), k=6)
            else:
                placement, recs = "bought_together", bought_together(product=rng.choice(products), k=4)
            items = [(rec.product.pk, rec.source) for rec in recs]
            if not items:
                continue
            token = tracking.list_shown(kind="recommendation", placement=placement, items=items, request=request)
            tracking.flush()
            if rng.random() < 0.3:
                tracking.record_click(token=token, product_pk=rng.choice(items)[0], request=request)

        self.stdout.write("Demo traffic: questions to the assistant…")
        asked = 0
        for question, times in QUESTIONS:
            for _ in range(times):
                visitor = rng.randrange(VISITORS)
                user = shoppers[visitor % len(shoppers)] if visitor < len(shoppers) else None
                reply = answer_question(question=question, user=user, visitor_key=f"demo-visitor-{visitor}")
                asked += 1
                if not reply.handoff and reply.id and rng.random() < 0.5:
                    record_feedback(
                        exchange_id=reply.id, session_id=reply.session_id, user=user, helpful=rng.random() < 0.8
                    )

        self._experiment(rng)
        self._spread(rng, now)
        self._attributed_orders(rng)
        self.stdout.write(f"Demo traffic: {searched} searches, {asked} questions, over the last {DAYS} days.")

    def _experiment(self, rng: random.Random) -> None:
        """A subject-line A/B test of the newsletter with a small true difference."""
        experiment, _ = Experiment.objects.get_or_create(
            key="demo-newsletter-subject",
            defaults={"name": "Newsletter subject line", "status": Experiment.Status.RUNNING},
        )
        if not experiment.variants.exists():
            Variant.objects.create(experiment=experiment, name="A", text="Our autumn picks", is_control=True)
            Variant.objects.create(experiment=experiment, name="B", text="Picked for your weekend outdoors")
        for visitor in range(900):
            variant = assign(experiment, f"visitor:demo-{visitor}")
            if rng.random() < (0.06 if variant.is_control else 0.085):
                convert(experiment, f"visitor:demo-{visitor}")

    @transaction.atomic
    def _spread(self, rng: random.Random, now) -> None:
        """Move what was just recorded onto the last 30 days (a click stays after its list)."""
        for impression in ListImpression.objects.all():
            shown = now - timedelta(days=rng.random() * DAYS, minutes=5)
            ListImpression.objects.filter(pk=impression.pk).update(created_at=shown)
            ListClick.objects.filter(impression=impression).update(
                created_at=shown + timedelta(seconds=rng.randint(5, 240))
            )
        for exchange in Exchange.objects.all():
            Exchange.objects.filter(pk=exchange.pk).update(created_at=now - timedelta(days=rng.random() * DAYS))
        for case in HandoffCase.objects.all():
            opened = now - timedelta(days=rng.random() * DAYS)
            replied = opened + timedelta(minutes=rng.randint(4, 300)) if rng.random() < 0.6 else None
            HandoffCase.objects.filter(pk=case.pk).update(opened_at=opened, first_staff_reply_at=replied)
        for exposure in Exposure.objects.filter(experiment__key="demo-newsletter-subject"):
            Exposure.objects.filter(pk=exposure.pk).update(created_at=now - timedelta(days=rng.random() * DAYS))

    def _attributed_orders(self, rng: random.Random) -> None:
        """Some signed-in shoppers order a product a day after clicking it in a recommendation."""
        clicks = list(ListClick.objects.filter(kind="recommendation", user__isnull=False).order_by("created_at")[:6])
        for click in clicks:
            product = Product.objects.filter(pk=click.product_pk).first()
            if product is None:
                continue
            order = Order.objects.create(user_id=click.user_id, status=Order.Status.PAID)
            order.items.create(product=product, quantity=1, unit_price=product.price)
            Order.objects.filter(pk=order.pk).update(created_at=click.created_at + timedelta(hours=rng.randint(1, 30)))
            order.refresh_from_db()
            order.save()  # shopai mirrors the order as purchases at its (moved) date


class _Anonymous:
    is_authenticated = False
    pk = None
