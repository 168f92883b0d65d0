"""The facts generated copy may rely on: embedded text plus PRODUCT_FACT_FIELDS, flattened."""

import pytest

from shopai.adapters import get_product_adapter

pytestmark = pytest.mark.django_db


def test_facts_include_text_and_flattened_attributes(make_product):
    jacket = make_product(
        name="Ridgeline jacket",
        description="Waterproof shell.",
        category="Outdoor/Jackets",
        attributes={"sizes": ["S", "M"], "material": "recycled nylon", "empty": ""},
    )

    facts = get_product_adapter().get_facts(jacket).splitlines()

    assert facts[0] == "Ridgeline jacket"
    assert "Waterproof shell." in facts
    assert "sizes: S, M" in facts and "material: recycled nylon" in facts
    assert "price: 10.00" in facts and not any(line.startswith("empty") for line in facts)
