"""The SHOPAI settings a django-oscar shop starts from (``SHOPAI = {**SHOPAI_OSCAR}``)."""

SHOPAI_OSCAR = {
    "PRODUCT_MODEL": "catalogue.Product",
    "PRODUCT_ADAPTER": "shopai.contrib.oscar.adapters.OscarProductAdapter",
    # Price and stock are shown through oscar's pricing strategy (the adapter), so no path here.
    "PRODUCT_FIELDS": {"sku": "upc", "name": "title", "category": "categories"},
    # What the filters read: a product matches when any of its stock records does.
    "PRODUCT_FILTER_FIELDS": {
        "price": "stockrecords__price",
        "stock": "stockrecords__num_in_stock",
        "category": "categories",
    },
    # Variants are embedded as part of nothing: their parent is what shoppers find.
    "PRODUCT_TEXT_FIELDS": [
        "title",
        "product_class.name",
        "categories.full_name",
        "description",
        "attribute_values.summary",
    ],
    "PRODUCT_FACT_FIELDS": [],
    "SEARCHABLE_FILTER": {"is_public": True},
    "ORDER_MODEL": "order.Order",
    "ORDER_ADAPTER": "shopai.contrib.oscar.adapters.OscarOrderAdapter",
    "ORDER_FIELDS": {
        "user": "user",
        "number": "number",
        "status": "status",
        "tracking": "",
        "created": "date_placed",
        "items": "lines",
        "item_product": "product",
        "state": "status",
        # Oscar records shipping as shipping events, which the adapter reads.
        "shipped": "",
    },
    "ASSISTANT": {
        "LINKS": {
            "orders": "customer:order-list",
            "returns": "customer:order-list",
            "login": "customer:login",
            "contact": "",
        },
        # Returns: a line of a completed order, within RETURN_DAYS of its last shipping event.
        "AFTER_SALES": {"RETURN_DAYS": 30, "RETURN_STATES": ["Complete"]},
    },
    "COPY": {"FIELDS": {"description": "description"}},
}
