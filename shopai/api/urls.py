"""shopai's API routes; the host mounts them, e.g. at /api/shopai/."""

from django.urls import path

from shopai.api.views import AskView, FeedbackView, ProductSearchView

app_name = "shopai-api"

urlpatterns = [
    path("search", ProductSearchView.as_view(), name="search"),
    path("ask", AskView.as_view(), name="ask"),
    path("ask/<int:exchange_id>/feedback", FeedbackView.as_view(), name="ask-feedback"),
]
