"""A gadget catalogue with a UUID key, other field names, and cents instead of decimals."""

import uuid

from django.db import models


class Maker(models.Model):
    label = models.CharField(max_length=80)

    def __str__(self):
        return self.label


class Label(models.Model):
    name = models.CharField(max_length=40)

    def __str__(self):
        return self.name


class Gadget(models.Model):
    uid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=120)
    blurb = models.TextField()
    maker = models.ForeignKey(Maker, null=True, on_delete=models.SET_NULL)
    cost_cents = models.PositiveIntegerField()
    available = models.BooleanField(default=True)
    labels = models.ManyToManyField(Label, blank=True, related_name="gadgets")

    def __str__(self):
        return self.title

    def price_label(self):
        return f"{self.cost_cents / 100:.2f}"
