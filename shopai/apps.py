"""App config: registers system checks and signal receivers."""

from django.apps import AppConfig


class ShopAIConfig(AppConfig):
    name = "shopai"
    verbose_name = "shopai"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers, tasks  # noqa: F401  (registers checks, receivers and every task name)

        receivers.connect_product_loaded()
