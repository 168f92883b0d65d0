"""shopai's storefront pages; the host mounts them, e.g. at /shopai/."""

from django.urls import path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog

from shopai.core import health
from shopai.insights import views as insights_views
from shopai.search import views
from shopai.studio import mail_views

app_name = "shopai"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("health/", health.health, name="health"),
    # A product clicked in a tracked list (search results, recommendations): counted, then redirected.
    path("go/<uuid:token>/<str:product_id>/", insights_views.click, name="click"),
    # Links in campaign mails: signed tokens, no sign-in.
    path("m/<str:token>/", mail_views.campaign_click, name="campaign-click"),
    path("unsubscribe/<str:token>/", mail_views.unsubscribe, name="unsubscribe"),
    # The chat widget's texts in the request's language (the {% shopai_chat %} tag loads it).
    # Loaded by the chat widget on every page: cached per language (the cache key carries it).
    path("jsi18n/", cache_page(3600)(JavaScriptCatalog.as_view(packages=["shopai"])), name="jsi18n"),
]
