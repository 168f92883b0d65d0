"""shopai's API routes; the host mounts them, e.g. at /api/shopai/."""

from django.urls import path

from shopai.api.views import ProductSearchView

app_name = "shopai-api"

urlpatterns = [
    path("search", ProductSearchView.as_view(), name="search"),
]
