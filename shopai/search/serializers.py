"""Search API shapes: the query and its results."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shopai.api.serializers import ProductFilterSerializer, ProductHitSerializer
from shopai.conf import shopai_settings
from shopai.search.selectors import HNSW_EF_SEARCH_MAX

# The deepest result a query can be paged to: the index's candidate list (hnsw.ef_search) ends there.
MAX_RESULTS = HNSW_EF_SEARCH_MAX


class SearchQuerySerializer(ProductFilterSerializer):
    q = serializers.CharField(
        trim_whitespace=True,
        error_messages={
            "required": _("Add a search text with ?q=…, for example ?q=waterproof jacket."),
            "blank": _("The search text is empty; type a few words describing what you are looking for."),
        },
    )
    k = serializers.IntegerField(
        required=False,
        min_value=1,
        error_messages={
            "invalid": _("k must be a whole number of results, e.g. k=10."),
            "min_value": _("k must be at least 1."),
        },
    )

    mode = serializers.ChoiceField(
        choices=["hybrid", "vector", "keyword"],
        required=False,
        default="hybrid",
        error_messages={"invalid_choice": _('"{input}" is not a search mode; use hybrid, vector or keyword.')},
    )
    page = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_RESULTS,
        default=1,
        error_messages={"invalid": _("page must be a whole number, e.g. 2.")},
    )

    def validate(self, data):
        data = super().validate(data)
        k = data.get("k") or int(shopai_settings.SEARCH_DEFAULT_K)
        if data["page"] * k > MAX_RESULTS:
            last = MAX_RESULTS // k
            message = gettext(
                "Results can be paged through to the %(max)dth; with k=%(k)d the last page is %(last)d."
            ) % {"max": MAX_RESULTS, "k": k, "last": last}
            raise serializers.ValidationError({"page": [message]})
        return data

    def validate_q(self, value: str) -> str:
        limit = int(shopai_settings.SEARCH_MAX_QUERY_LENGTH)
        if len(value) > limit:
            raise serializers.ValidationError(
                gettext("The search text is %(length)d characters long; shorten it to at most %(limit)d.")
                % {"length": len(value), "limit": limit}
            )
        return value

    def validate_k(self, value: int) -> int:
        limit = int(shopai_settings.SEARCH_MAX_K)
        if value > limit:
            raise serializers.ValidationError(
                gettext("k can be at most %(limit)d; ask for fewer results.") % {"limit": limit}
            )
        return value


class SearchHitSerializer(ProductHitSerializer):
    found_by = serializers.CharField(help_text='Which ranking found it: "keyword", "vector" or "both".')


class SearchResponseSerializer(serializers.Serializer):
    tracking = serializers.CharField(
        allow_null=True, help_text="Token of this list of results: POST it with a clicked product to /clicks."
    )
    query = serializers.CharField()
    mode = serializers.CharField()
    page = serializers.IntegerField()
    count = serializers.IntegerField()
    results = SearchHitSerializer(many=True)
