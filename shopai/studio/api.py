"""Marketing studio API (staff only): copy jobs and checks, experiment assignment and conversion."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from shopai.adapters import get_product_adapter
from shopai.api.exceptions import ShopAIExceptionMixin
from shopai.api.parsers import BoundedJSONParser
from shopai.api.serializers import errors
from shopai.api.throttling import (
    EventThrottle,
)
from shopai.core.grounding import check_text
from shopai.core.permissions import can_generate_copy
from shopai.models import Experiment, GenerationJob
from shopai.studio.copy import CopyError, CopyRequest, start_job
from shopai.studio.experiments import ExperimentError, assign, convert, visitor_id
from shopai.studio.serializers import (
    CopyCheckResultSerializer,
    CopyCheckSerializer,
    CopyJobSerializer,
    CopyJobStartedSerializer,
    CopyRequestSerializer,
    ExperimentAssignmentSerializer,
)


class CanGenerateCopy(BasePermission):
    """Staff who may add copy jobs and change the shop's products (a view-only account may not)."""

    message = _("Generating copy needs permission to add copy jobs and to change products.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff and can_generate_copy(request.user))


class CanViewJobs(BasePermission):
    message = _("Seeing copy jobs needs permission to view them.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff and request.user.has_perm("shopai.view_generationjob"))


class CanCheckCopy(BasePermission):
    message = _("Checking copy needs permission to view generated copy.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff and request.user.has_perm("shopai.view_generatedcopy"))


def _product_or_404(product_id: str):
    product = get_product_adapter().find(product_id, searchable=False)
    if product is None:
        raise NotFound(gettext("No such product."))
    return product


class ProductCopyView(ShopAIExceptionMixin, APIView):
    """Queue copy generation for one product; poll the job for the draft."""

    permission_classes = [CanGenerateCopy]
    parser_classes = [BoundedJSONParser]

    @extend_schema(request=CopyRequestSerializer, responses={202: CopyJobStartedSerializer, **errors(400, 403, 404)})
    def post(self, request, product_id: str):
        product = _product_or_404(product_id)
        params = CopyRequestSerializer(data=request.data if isinstance(request.data, dict) else {})
        if not isinstance(request.data, dict):
            raise ValidationError(
                {"error": gettext('Send a JSON object, e.g. {"field": "description", "tone": "premium"}.')}
            )
        params.is_valid(raise_exception=True)
        try:
            copy_request = CopyRequest.from_dict(params.validated_data)
            job = start_job(product_pks=[product.pk], request=copy_request, user=request.user)
        except CopyError as exc:
            raise ValidationError({"error": str(exc)}) from exc
        started = {"job": job.pk, "status": job.status, "url": f"jobs/{job.pk}"}
        return Response(CopyJobStartedSerializer(started).data, status=202)


class JobView(ShopAIExceptionMixin, APIView):
    """Status, progress and drafts of a copy job."""

    permission_classes = [CanViewJobs]

    @extend_schema(responses={200: CopyJobSerializer, **errors(403, 404)})
    def get(self, request, job_id: int):
        job = GenerationJob.objects.filter(pk=job_id).first()
        if job is None:
            raise NotFound(gettext("No such job."))
        return Response(
            CopyJobSerializer(
                {
                    "id": job.pk,
                    "status": job.status,
                    "total": job.total,
                    "done": job.done,
                    "skipped": job.skipped,
                    "failed": job.failed,
                    "error": job.error,
                    "parameters": job.parameters,
                    "results": job.drafts.order_by("pk"),
                }
            ).data
        )


class CopyCheckView(ShopAIExceptionMixin, APIView):
    """Run the grounding guard on any text (generated or written by a person) for this product."""

    permission_classes = [CanCheckCopy]
    parser_classes = [BoundedJSONParser]

    @extend_schema(request=CopyCheckSerializer, responses={200: CopyCheckResultSerializer, **errors(400, 403, 404)})
    def post(self, request, product_id: str):
        product = _product_or_404(product_id)
        if not isinstance(request.data, dict):
            raise ValidationError({"error": gettext('Send a JSON object, e.g. {"text": "Waterproof jacket…"}.')})
        params = CopyCheckSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = check_text(params.validated_data["text"], get_product_adapter().get_facts(product))
        flags = [{"phrase": flag.phrase, "reason": flag.reason} for flag in result.flags]
        return Response(CopyCheckResultSerializer({"flags": flags, "grounded": not flags}).data)


class ExperimentAssignmentView(ShopAIExceptionMixin, APIView):
    """The current visitor's variant of a running experiment (records an impression once)."""

    permission_classes = [AllowAny]
    throttle_classes = [EventThrottle]

    @extend_schema(responses={200: ExperimentAssignmentSerializer, **errors(404, 429)})
    def get(self, request, key: str):
        experiment = Experiment.objects.filter(key=key).exclude(status=Experiment.Status.DRAFT).first()
        if experiment is None:
            raise NotFound(gettext("No experiment called %(key)r is running.") % {"key": key})
        try:
            variant = assign(experiment, visitor_id(request))
        except ExperimentError as exc:
            raise NotFound(str(exc)) from exc
        assignment = {"experiment": experiment.key, "variant": variant.name, "text": variant.text}
        return Response(ExperimentAssignmentSerializer(assignment).data)


class ExperimentConversionView(ShopAIExceptionMixin, APIView):
    """The current visitor converted (bought, signed up…): counted once, for the variant they saw."""

    permission_classes = [AllowAny]
    throttle_classes = [EventThrottle]

    @extend_schema(request=None, responses={204: None, **errors(400, 404, 429)})
    def post(self, request, key: str):
        experiment = Experiment.objects.filter(key=key, status=Experiment.Status.RUNNING).first()
        if experiment is None:
            raise NotFound(gettext("No experiment called %(key)r is running.") % {"key": key})
        if not convert(experiment, visitor_id(request)):
            raise ValidationError(
                {"error": gettext("This visitor has not seen the experiment; ask for a variant first.")}
            )
        return Response(status=204)
