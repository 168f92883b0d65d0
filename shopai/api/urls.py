"""shopai's API routes, each view in its feature's api module; the host mounts them, e.g. at /api/shopai/."""

from django.urls import path, register_converter
from django.urls.converters import IntConverter

from shopai.assistant.api import AskView, ConversationMessagesView, FeedbackView
from shopai.insights.api import ClickView
from shopai.recommendations.api import EventView, RecommendationsView, SimilarProductsView
from shopai.search.api import ProductSearchView
from shopai.studio.api import (
    CopyCheckView,
    ExperimentAssignmentView,
    ExperimentConversionView,
    JobView,
    ProductCopyView,
)

app_name = "shopai-api"


class RowIdConverter(IntConverter):
    """A database id: at most 18 digits, so a number beyond bigint is a 404, not a database error."""

    regex = "[0-9]{1,18}"


register_converter(RowIdConverter, "rowid")

urlpatterns = [
    path("search", ProductSearchView.as_view(), name="search"),
    path("ask", AskView.as_view(), name="ask"),
    path("events", EventView.as_view(), name="events"),
    path("clicks", ClickView.as_view(), name="clicks"),
    path("recommendations", RecommendationsView.as_view(), name="recommendations"),
    path("products/<str:product_id>/similar", SimilarProductsView.as_view(), name="similar"),
    path("ask/<rowid:exchange_id>/feedback", FeedbackView.as_view(), name="ask-feedback"),
    path(
        "conversations/<str:session_id>/messages",
        ConversationMessagesView.as_view(),
        name="conversation-messages",
    ),
    path("products/<str:product_id>/copy", ProductCopyView.as_view(), name="product-copy"),
    path("products/<str:product_id>/copy/check", CopyCheckView.as_view(), name="product-copy-check"),
    path("jobs/<rowid:job_id>", JobView.as_view(), name="job"),
    path("experiments/<slug:key>/assignment", ExperimentAssignmentView.as_view(), name="experiment-assignment"),
    path("experiments/<slug:key>/conversion", ExperimentConversionView.as_view(), name="experiment-conversion"),
]
