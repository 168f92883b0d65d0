"""Storefront pages: catalogue, category, product."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from store.models import Category, Order, Product, ProductView


def home(request):
    products = Product.objects.filter(is_active=True).select_related("category")
    page = Paginator(products, 24).get_page(request.GET.get("page"))
    return render(request, "store/home.html", {"page": page})


def category(request, pk: int):
    cat = get_object_or_404(Category, pk=pk)
    products = Product.objects.filter(is_active=True, category_id__in=cat.descendant_ids()).select_related("category")
    page = Paginator(products, 24).get_page(request.GET.get("page"))
    return render(request, "store/category.html", {"category": cat, "page": page})


def product(request, pk: int):
    item = get_object_or_404(Product.objects.select_related("category"), pk=pk, is_active=True)
    if request.user.is_authenticated:
        ProductView.objects.create(user=request.user, product=item)
    return render(request, "store/product_detail.html", {"product": item})


@login_required
def orders(request):
    items = Order.objects.filter(user=request.user).prefetch_related("items__product")
    return render(request, "store/orders.html", {"orders": items})
