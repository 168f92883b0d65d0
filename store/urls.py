"""Storefront URLs."""

from django.urls import path

from store import views

app_name = "store"

urlpatterns = [
    path("", views.home, name="home"),
    path("category/<int:pk>/", views.category, name="category"),
    path("product/<int:pk>/", views.product, name="product"),
    path("account/orders/", views.orders, name="orders"),
]
