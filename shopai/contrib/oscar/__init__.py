"""shopai for django-oscar shops: a product and an order adapter, and a settings preset.

In the host's settings::

    from shopai.contrib.oscar.settings import SHOPAI_OSCAR

    INSTALLED_APPS += ["rest_framework", "drf_spectacular", "shopai"]
    SHOPAI = {**SHOPAI_OSCAR}  # then change what the shop wants changed

No adapter code of the shop's own: text from title, product class, categories (with their
ancestors), description and attributes; prices and availability through oscar's pricing
strategy for display, stock records for the filters; variants shown as their parent product;
oscar's orders as purchases and for "where is my order?".
"""
