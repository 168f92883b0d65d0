"""shopai's own tables, one module per feature, one app label ("shopai").

Import models from here (``from shopai.models import FAQ``); the modules are an implementation detail.
"""

from shopai.models.assistant import FAQ, Exchange, FAQEmbedding
from shopai.models.insights import Insight, ListClick, ListImpression
from shopai.models.marketing import CampaignClick, CampaignRecipient, MarketingConsent
from shopai.models.recommendations import Event, RecommenderSettings, UserProfile
from shopai.models.search import EmbeddingSpace, ProductEmbedding, ProductEmbeddingQuerySet
from shopai.models.service import AfterSalesRequest, CaseMessage, Conversation, HandoffCase
from shopai.models.studio import Campaign, Experiment, Exposure, GeneratedCopy, GenerationJob, Segment, Variant
from shopai.models.vectors import EMBEDDING_DIMENSIONS

__all__ = [
    "AfterSalesRequest",
    "CaseMessage",
    "Conversation",
    "HandoffCase",
    "Campaign",
    "CampaignClick",
    "CampaignRecipient",
    "EMBEDDING_DIMENSIONS",
    "EmbeddingSpace",
    "Event",
    "Exchange",
    "Experiment",
    "Exposure",
    "FAQ",
    "FAQEmbedding",
    "GeneratedCopy",
    "GenerationJob",
    "Insight",
    "ListClick",
    "ListImpression",
    "MarketingConsent",
    "ProductEmbedding",
    "ProductEmbeddingQuerySet",
    "RecommenderSettings",
    "Segment",
    "UserProfile",
    "Variant",
]
