"""Who an anonymous visitor is, across features: the session entry their events are recorded under."""

VISITOR_KEY = "shopai_visitor"
