"""shopai's storefront pages; the host mounts them, e.g. at /shopai/."""

from django.urls import path

from shopai.core import health
from shopai.search import views

app_name = "shopai"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("health/", health.health, name="health"),
]
