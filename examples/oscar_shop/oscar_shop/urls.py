from django.apps import apps
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),  # oscar's language switcher
    path("admin/", admin.site.urls),
    # shopai (3 of 3): its API and its search page.
    path("api/shopai/", include("shopai.api.urls")),
    path("shopai/", include("shopai.urls")),
    path("", include(apps.get_app_config("oscar").urls[0])),
]
