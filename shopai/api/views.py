"""API views: parse and validate, call one service, serialise."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from shopai.adapters import get_product_adapter
from shopai.api.exceptions import ShopAIExceptionMixin
from shopai.api.serializers import (
    AskResponseSerializer,
    AskSerializer,
    CopyCheckSerializer,
    CopyRequestSerializer,
    EventSerializer,
    FeedbackSerializer,
    RecommendationQuerySerializer,
    RecommendationResponseSerializer,
    SearchQuerySerializer,
    SearchResponseSerializer,
)
from shopai.api.throttling import (
    AskThrottle,
    EventThrottle,
    FeedbackThrottle,
    RecommendationThrottle,
    SearchThrottle,
)
from shopai.assistant.answers import answer_question, record_feedback
from shopai.conf import shopai_settings
from shopai.recommendations.events import VISITOR_KEY, record_event
from shopai.recommendations.recommenders import recommend_for_user, similar_products
from shopai.search.hybrid import search_products


class ProductSearchView(ShopAIExceptionMixin, APIView):
    """Semantic product search: products whose description means what the shopper typed."""

    permission_classes = [AllowAny]
    throttle_classes = [SearchThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="What the shopper is looking for."),
            OpenApiParameter("k", int, required=False, description="Number of results (default 10, max 100)."),
            OpenApiParameter("mode", str, required=False, enum=["hybrid", "vector", "keyword"]),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("in_stock", bool, required=False),
            OpenApiParameter("category", str, required=False),
            OpenApiParameter("min_price", float, required=False),
            OpenApiParameter("max_price", float, required=False),
        ],
        responses=SearchResponseSerializer,
    )
    def get(self, request):
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        query, mode, page = data.pop("q"), data.pop("mode"), data.pop("page")
        k = data.pop("k", None) or int(shopai_settings.SEARCH_DEFAULT_K)
        hits = search_products(query=query, k=k, mode=mode, offset=(page - 1) * k, **data)
        results = [hit.to_dict() for hit in hits]
        return Response({"query": query, "mode": mode, "page": page, "count": len(results), "results": results})


class AskView(ShopAIExceptionMixin, APIView):
    """Ask the shop's assistant; anonymous shoppers welcome, order look-ups need a signed-in shopper."""

    permission_classes = [AllowAny]
    throttle_classes = [AskThrottle]
    parser_classes = [JSONParser]

    @extend_schema(request=AskSerializer, responses=AskResponseSerializer)
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"question": ['Send a JSON object, e.g. {"question": "Where is my order?"}.']})
        params = AskSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = answer_question(
            question=params.validated_data["question"],
            user=request.user,
            session_id=params.validated_data.get("session_id"),
        )
        return Response(
            {
                "id": result.id,
                "session_id": result.session_id,
                "reply": result.reply,
                "answer": result.answer,
                "confidence": round(result.confidence, 4),
                "intent": result.intent,
                "sentiment": {"label": result.sentiment.label, "score": round(result.sentiment.score, 4)},
                "handoff": result.handoff,
                "handoff_reason": result.handoff_reason,
                "sources": result.sources,
                "links": result.links,
                "language": result.language,
            }
        )


class FeedbackView(ShopAIExceptionMixin, APIView):
    """Was this answer helpful? Only the conversation's own session (or user) may say."""

    permission_classes = [AllowAny]
    throttle_classes = [FeedbackThrottle]
    parser_classes = [JSONParser]

    @extend_schema(request=FeedbackSerializer, responses={204: None})
    def post(self, request, exchange_id: int):
        if not isinstance(request.data, dict):
            raise ValidationError({"helpful": ['Send a JSON object, e.g. {"helpful": true}.']})
        params = FeedbackSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        exchange = record_feedback(
            exchange_id=exchange_id,
            session_id=params.validated_data.get("session_id", ""),
            user=request.user,
            helpful=params.validated_data["helpful"],
        )
        if exchange is None:
            raise NotFound("No answer with this id in your conversation.")
        return Response(status=204)


class EventView(ShopAIExceptionMixin, APIView):
    """Record what a shopper did (view, search, cart, purchase); cheap, no model call."""

    permission_classes = [AllowAny]
    throttle_classes = [EventThrottle]
    parser_classes = [JSONParser]

    @extend_schema(request=EventSerializer, responses={201: None})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"type": ['Send a JSON object, e.g. {"type": "view", "product_id": "12"}.']})
        params = EventSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        visitor = ""
        if not request.user.is_authenticated:  # anonymous visitors are followed by their session
            if not request.session.session_key:
                request.session.save()
            visitor = request.session.setdefault(VISITOR_KEY, request.session.session_key)
        record_event(
            kind=data["type"],
            user=request.user,
            session_key=visitor,
            product_pk=data.get("product_id"),
            query=data.get("query", ""),
        )
        return Response(status=201)


class RecommendationsView(ShopAIExceptionMixin, APIView):
    """Recommendations for the current shopper (staff may ask for another user with ?user=)."""

    permission_classes = [AllowAny]
    throttle_classes = [RecommendationThrottle]

    @extend_schema(parameters=[RecommendationQuerySerializer], responses=RecommendationResponseSerializer)
    def get(self, request):
        params = RecommendationQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        user = request.user
        username = data.pop("user", None)
        if username:
            if not request.user.is_staff:
                raise PermissionDenied("Only staff may ask for another shopper's recommendations.")
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise NotFound(f"No user called {username!r}.")
        k = data.pop("k", None) or 10
        items = recommend_for_user(user=user, k=k, **data)
        return Response({"count": len(items), "results": [item.to_dict() for item in items]})


class SimilarProductsView(ShopAIExceptionMixin, APIView):
    """Products similar to this one."""

    permission_classes = [AllowAny]
    throttle_classes = [RecommendationThrottle]

    @extend_schema(responses=RecommendationResponseSerializer)
    def get(self, request, product_id: str):
        params = RecommendationQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        adapter = get_product_adapter()
        try:
            product = adapter.get_searchable_queryset().filter(pk=product_id).first()
        except (ValueError, DjangoValidationError):
            product = None
        if product is None:
            raise NotFound("No such product.")
        items = similar_products(product=product, k=params.validated_data.get("k") or 6)
        return Response({"count": len(items), "results": [item.to_dict() for item in items]})


# --- Marketing studio (staff only) ---------------------------------------------------------


def _product_or_404(product_id: str):
    try:
        product = get_product_adapter().get_queryset().filter(pk=product_id).first()
    except (ValueError, DjangoValidationError):
        product = None
    if product is None:
        raise NotFound("No such product.")
    return product


def _draft_dict(draft) -> dict:
    return {
        "id": draft.pk,
        "product_id": draft.object_pk,
        "field": draft.field,
        "text": draft.text,
        "flags": draft.flags,
        "grounded": draft.grounded,
        "status": draft.status,
        "model": draft.model_name,
        "completion_tokens": draft.completion_tokens,
        "seconds": draft.seconds,
    }


class ProductCopyView(ShopAIExceptionMixin, APIView):
    """Queue copy generation for one product; poll the job for the draft."""

    permission_classes = [IsAdminUser]
    parser_classes = [JSONParser]

    @extend_schema(request=CopyRequestSerializer, responses={202: dict})
    def post(self, request, product_id: str):
        from shopai.studio.copy import CopyError, CopyRequest, start_job

        product = _product_or_404(product_id)
        params = CopyRequestSerializer(data=request.data if isinstance(request.data, dict) else {})
        if not isinstance(request.data, dict):
            raise ValidationError({"error": 'Send a JSON object, e.g. {"field": "description", "tone": "premium"}.'})
        params.is_valid(raise_exception=True)
        try:
            copy_request = CopyRequest.from_dict(params.validated_data)
            job = start_job(product_pks=[product.pk], request=copy_request, user=request.user)
        except CopyError as exc:
            raise ValidationError({"error": str(exc)}) from exc
        return Response({"job": job.pk, "status": job.status, "url": f"jobs/{job.pk}"}, status=202)


class JobView(ShopAIExceptionMixin, APIView):
    """Status, progress and drafts of a copy job."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses=dict)
    def get(self, request, job_id: int):
        from shopai.models import GenerationJob

        job = GenerationJob.objects.filter(pk=job_id).first()
        if job is None:
            raise NotFound("No such job.")
        return Response(
            {
                "id": job.pk,
                "status": job.status,
                "total": job.total,
                "done": job.done,
                "skipped": job.skipped,
                "failed": job.failed,
                "error": job.error,
                "parameters": job.parameters,
                "results": [_draft_dict(draft) for draft in job.drafts.order_by("pk")],
            }
        )


class CopyCheckView(ShopAIExceptionMixin, APIView):
    """Run the grounding guard on any text (generated or written by a person) for this product."""

    permission_classes = [IsAdminUser]
    parser_classes = [JSONParser]

    @extend_schema(request=CopyCheckSerializer, responses=dict)
    def post(self, request, product_id: str):
        from shopai.studio.grounding import check_text

        product = _product_or_404(product_id)
        if not isinstance(request.data, dict):
            raise ValidationError({"error": 'Send a JSON object, e.g. {"text": "Waterproof jacket…"}.'})
        params = CopyCheckSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = check_text(params.validated_data["text"], get_product_adapter().get_facts(product))
        flags = [{"phrase": flag.phrase, "reason": flag.reason} for flag in result.flags]
        return Response({"flags": flags, "grounded": not flags})


class ExperimentAssignmentView(ShopAIExceptionMixin, APIView):
    """The current visitor's variant of a running experiment (records an impression once)."""

    permission_classes = [AllowAny]
    throttle_classes = [EventThrottle]

    @extend_schema(responses=dict)
    def get(self, request, key: str):
        from shopai.models import Experiment
        from shopai.studio.experiments import ExperimentError, assign, visitor_id

        experiment = Experiment.objects.filter(key=key).exclude(status=Experiment.Status.DRAFT).first()
        if experiment is None:
            raise NotFound(f"No experiment called {key!r} is running.")
        try:
            variant = assign(experiment, visitor_id(request))
        except ExperimentError as exc:
            raise NotFound(str(exc)) from exc
        return Response({"experiment": experiment.key, "variant": variant.name, "text": variant.text})


class ExperimentConversionView(ShopAIExceptionMixin, APIView):
    """The current visitor converted (bought, signed up…): counted once, for the variant they saw."""

    permission_classes = [AllowAny]
    throttle_classes = [EventThrottle]

    @extend_schema(request=None, responses={204: None})
    def post(self, request, key: str):
        from shopai.models import Experiment
        from shopai.studio.experiments import convert, visitor_id

        experiment = Experiment.objects.filter(key=key, status=Experiment.Status.RUNNING).first()
        if experiment is None:
            raise NotFound(f"No experiment called {key!r} is running.")
        if not convert(experiment, visitor_id(request)):
            raise ValidationError({"error": "This visitor has not seen the experiment; ask for a variant first."})
        return Response(status=204)
