"""Throttles whose rates come from SHOPAI["THROTTLE_RATES"], so hosts need no DRF setting."""

from rest_framework.throttling import SimpleRateThrottle

from shopai.conf import shopai_settings


class ShopAIThrottle(SimpleRateThrottle):
    """Per user (or per IP for anonymous shoppers), rate from SHOPAI["THROTTLE_RATES"][scope]."""

    scope = "search"

    def get_rate(self):
        return shopai_settings.THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": f"shopai_{self.scope}", "ident": ident}


class SearchThrottle(ShopAIThrottle):
    scope = "search"


class AskThrottle(ShopAIThrottle):
    scope = "ask"


class FeedbackThrottle(ShopAIThrottle):
    scope = "feedback"


class EventThrottle(ShopAIThrottle):
    scope = "events"


class RecommendationThrottle(ShopAIThrottle):
    scope = "recommendations"
