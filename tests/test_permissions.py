"""Nobody does what their permissions do not allow: a view-only staff member sees shopai's admin and
API but cannot publish, queue, generate, create or change anything through them."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import reverse

from shopai.models import FAQ, Exchange, GeneratedCopy, GenerationJob, Segment

pytestmark = pytest.mark.django_db


def staff_with(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def viewer(django_user_model):
    codenames = Permission.objects.filter(codename__startswith="view_").values_list("codename", flat=True)
    return staff_with(django_user_model, "viewer", *codenames)


def offered_actions(user, label: str) -> set[str]:
    """The actions the admin offers ``user`` on the list of ``app_model`` (what a POSTed action must be one of)."""
    model = apps.get_model(*label.split("_", 1))
    request = RequestFactory().get("/")
    request.user = user
    return set(admin.site._registry[model].get_actions(request)) - {"delete_selected"}


@pytest.fixture
def draft(make_product):
    jacket = make_product(name="Shell jacket", description="Waterproof shell.")
    copy = GeneratedCopy.objects.create(
        content_type=ContentType.objects.get_for_model(jacket), object_pk=str(jacket.pk), field="description",
        text="A waterproof shell.", status="approved", model_name="fake",
    )  # fmt: skip
    return jacket, copy


ADMIN_LISTS = {
    "shopai_faq": {"publish", "unpublish", "re_embed", "accept_phrasings", "discard_phrasings"},
    "shopai_productembedding": {"re_embed"},
    "shopai_generationjob": {"retry"},
    "shopai_generatedcopy": {"approve", "publish", "reject", "start_experiment"},
    "shopai_experiment": {"promote_winner", "stop"},
    "shopai_segment": {"write_campaign", "write_campaign_zh", "refresh_rule"},
    "shopai_recommendersettings": {"activate", "deactivate"},
    "store_product": {"shopai_re_embed", "shopai_generate_copy"},
}


def test_a_view_only_staff_member_is_offered_no_action_that_changes_anything(client, admin_user, django_user_model):
    user = viewer(django_user_model)
    client.force_login(user)

    for name, actions in ADMIN_LISTS.items():
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name  # they may look
        assert offered_actions(user, name) == set(), name
        assert offered_actions(admin_user, name) == actions, name  # the superuser gets them all


def test_posting_an_action_anyway_does_nothing(client, django_user_model, draft, make_product):
    jacket, copy = draft
    faq = FAQ.objects.create(question="Do you ship abroad?", answer="Yes.", is_published=False)
    client.force_login(viewer(django_user_model))

    client.post(reverse("admin:shopai_generatedcopy_changelist"), {"action": "publish", "_selected_action": [copy.pk]})
    client.post(reverse("admin:shopai_faq_changelist"), {"action": "publish", "_selected_action": [faq.pk]})
    client.post(
        reverse("admin:store_product_changelist"),
        {"action": "shopai_generate_copy", "_selected_action": [jacket.pk], "apply": "1", "field": "description",
         "tone": "friendly", "length": "short", "language": "en"},
    )  # fmt: skip

    copy.refresh_from_db()
    faq.refresh_from_db()
    jacket.refresh_from_db()
    assert copy.status == "approved" and jacket.description == "Waterproof shell."
    assert not faq.is_published and not GenerationJob.objects.exists()


def test_the_product_copy_page_and_the_unanswered_questions_form_refuse_a_viewer(client, django_user_model, draft):
    jacket, _ = draft
    Exchange.objects.create(question="Do you sell gift cards?", language="en", intent="faq", confidence=0.1)
    client.force_login(viewer(django_user_model))

    copy_page = client.get(reverse("admin:store_product_shopai_copy", args=[jacket.pk]))
    unanswered = reverse("admin:shopai_exchange_unanswered")
    seen = client.get(unanswered)
    created = client.post(unanswered, {"exchange_ids": str(Exchange.objects.get().pk)})

    assert copy_page.status_code == 403
    assert seen.status_code == 200 and created.status_code == 403 and not FAQ.objects.exists()


def test_changing_drafts_without_changing_products_cannot_publish(client, django_user_model, draft):
    """Publishing writes the product: change permission on drafts alone is not enough."""
    _, copy = draft
    editor = staff_with(django_user_model, "editor", "view_generatedcopy", "change_generatedcopy")

    actions = offered_actions(editor, "shopai_generatedcopy")

    assert actions == {"approve", "reject"}


def test_the_studio_api_asks_for_the_permission_each_call_exercises(client, django_user_model, draft):
    jacket, _ = draft
    client.force_login(viewer(django_user_model))
    job = GenerationJob.objects.create(product_pks=[str(jacket.pk)], total=1)

    generate = client.post(f"/api/shopai/products/{jacket.pk}/copy", {}, content_type="application/json")
    status = client.get(f"/api/shopai/jobs/{job.pk}")
    check = client.post(f"/api/shopai/products/{jacket.pk}/copy/check", {"text": "x"}, content_type="application/json")

    assert generate.status_code == 403 and "permission" in generate.json()["error"]
    assert status.status_code == 200 and check.status_code == 200  # viewing is what they may do
    assert GenerationJob.objects.count() == 1


def test_another_shoppers_recommendations_need_permission_to_view_profiles(client, django_user_model):
    django_user_model.objects.create_user("shopper")
    client.force_login(staff_with(django_user_model, "clerk", "view_faq"))

    response = client.get("/api/shopai/recommendations", {"user": "shopper"})

    assert response.status_code == 403


def test_segment_campaigns_need_permission_to_add_campaigns(client, django_user_model):
    Segment.objects.create(name="Campers")
    marketer = staff_with(django_user_model, "marketer", "view_segment", "change_segment")

    actions = offered_actions(marketer, "shopai_segment")

    assert actions == {"refresh_rule"}
