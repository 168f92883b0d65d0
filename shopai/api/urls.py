"""shopai's API routes; the host mounts them, e.g. at /api/shopai/."""

from django.urls import path

from shopai.api.views import (
    AskView,
    EventView,
    FeedbackView,
    ProductSearchView,
    RecommendationsView,
    SimilarProductsView,
)

app_name = "shopai-api"

urlpatterns = [
    path("search", ProductSearchView.as_view(), name="search"),
    path("ask", AskView.as_view(), name="ask"),
    path("events", EventView.as_view(), name="events"),
    path("recommendations", RecommendationsView.as_view(), name="recommendations"),
    path("products/<str:product_id>/similar", SimilarProductsView.as_view(), name="similar"),
    path("ask/<int:exchange_id>/feedback", FeedbackView.as_view(), name="ask-feedback"),
]
