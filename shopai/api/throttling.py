"""Throttles whose rates come from SHOPAI["THROTTLE_RATES"], so hosts need no DRF setting."""

from rest_framework.throttling import SimpleRateThrottle

from shopai.conf import shopai_settings


def client_address(request) -> str:
    """The address a request came from, behind SHOPAI["TRUSTED_PROXIES"] proxies (default 0).

    With no proxy the connection's address, never a header: X-Forwarded-For is whatever the client
    wrote. Behind N proxies that each append the address they saw, the client is the N-th entry
    from the right; entries further left were written by the client and are ignored.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = int(shopai_settings.TRUSTED_PROXIES or 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    # Fewer entries than proxies: the request did not come through all of them, and every entry may
    # be the client's own writing; the connection's address is the one fact.
    return forwarded[-proxies] if len(forwarded) >= proxies else remote


class ShopAIThrottle(SimpleRateThrottle):
    """Per user (or per client address for anonymous shoppers), rate from SHOPAI["THROTTLE_RATES"][scope]."""

    scope = "search"

    def get_rate(self):
        return shopai_settings.THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_address(request)

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


class PollThrottle(ShopAIThrottle):
    """The chat widget asking for staff replies every few seconds while a case is open."""

    scope = "poll"


class ClickThrottle(ShopAIThrottle):
    """Clicks on products of a tracked list (the click link and the clicks API)."""

    scope = "clicks"


class MailLinkThrottle(ShopAIThrottle):
    """Links in campaign mails (a product click, unsubscribe), followed without signing in."""

    scope = "mail_links"


def throttle_page(request, throttle_class: type[ShopAIThrottle]) -> float | None:
    """For pages outside DRF: None if the request may go on, else the seconds to wait (the same
    budget as the API's: a page and its API share one rate)."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    return throttle.wait() or 1.0
