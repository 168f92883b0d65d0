"""Studio API shapes: copy requests, jobs, drafts, grounding checks, experiment assignments."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shopai.api.serializers import StrictCharField


class CopyRequestSerializer(serializers.Serializer):
    field = serializers.CharField(required=False, help_text="description, title, meta_description or highlights")
    tone = serializers.CharField(required=False, help_text="friendly, premium, technical, playful")
    length = serializers.CharField(required=False, help_text="short, medium, long")
    keywords = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=10)
    language = serializers.CharField(required=False, help_text="en or zh")
    only_empty = serializers.BooleanField(required=False, help_text="Do not overwrite a field that has text.")


class CopyCheckSerializer(serializers.Serializer):
    text = StrictCharField(
        max_length=5000,
        error_messages={
            "required": _('Send the text to check as JSON, e.g. {"text": "Waterproof jacket…"}.'),
            "blank": _("The text is empty."),
        },
    )


class CopyJobStartedSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="The job's id: poll jobs/<id>.")
    status = serializers.CharField()
    url = serializers.CharField(help_text="Relative to the API root.")


class GroundingFlagSerializer(serializers.Serializer):
    phrase = serializers.CharField()
    reason = serializers.CharField()


class DraftSerializer(serializers.Serializer):
    """A ``GeneratedCopy`` as the API shows it."""

    id = serializers.IntegerField()
    product_id = serializers.CharField(source="object_pk")
    field = serializers.CharField()
    text = serializers.CharField()
    flags = GroundingFlagSerializer(many=True, help_text="What the grounding guard flagged.")
    grounded = serializers.BooleanField()
    status = serializers.CharField(help_text="draft, approved, published or rejected")
    model = serializers.CharField(source="model_name")
    completion_tokens = serializers.IntegerField()
    seconds = serializers.FloatField()


class CopyJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    parameters = CopyRequestSerializer(help_text="What the job was asked to write.")
    results = DraftSerializer(many=True)


class CopyCheckResultSerializer(serializers.Serializer):
    flags = GroundingFlagSerializer(many=True)
    grounded = serializers.BooleanField(help_text="True when nothing was flagged.")


class ExperimentAssignmentSerializer(serializers.Serializer):
    experiment = serializers.CharField()
    variant = serializers.CharField()
    text = serializers.CharField()
