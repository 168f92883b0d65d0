"""Erasing a shopper reaches every table shopai keeps about them, and nobody else's rows."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from shopai.core.admin_actions import erase_shopai_data
from shopai.core.erasure import erase_shopper
from shopai.core.visitors import VISITOR_KEY
from shopai.models import (
    EMBEDDING_DIMENSIONS,
    AfterSalesRequest,
    Campaign,
    CampaignClick,
    CampaignRecipient,
    CaseMessage,
    Conversation,
    Event,
    Exchange,
    Experiment,
    Exposure,
    GeneratedCopy,
    GenerationJob,
    HandoffCase,
    ListClick,
    ListImpression,
    MarketingConsent,
    Segment,
    UserProfile,
    Variant,
)
from shopai.recommendations import erase_shopper_data
from shopai.signals import shopper_erased

pytestmark = pytest.mark.django_db

# Every place shopai keeps a shopper: fields pointing at the user model, and the string keys that
# name a visitor or a conversation. A new one must be erased (shopai/core/erasure.py) and added here.
SHOPPER_KEYS = {
    ("AfterSalesRequest", "decided_by"),
    ("AfterSalesRequest", "user"),
    ("CaseMessage", "author"),
    ("Conversation", "session_id"),
    ("Conversation", "session_key"),
    ("Conversation", "user"),
    ("HandoffCase", "assignee"),
    ("Event", "user"),
    ("Event", "session_key"),
    ("Exchange", "user"),
    ("Exchange", "session_id"),
    ("Exposure", "visitor"),
    ("Campaign", "reviewed_by"),
    ("CampaignRecipient", "user"),
    ("MarketingConsent", "user"),
    ("GeneratedCopy", "reviewed_by"),
    ("ListClick", "user"),
    ("ListClick", "visitor"),
    ("ListImpression", "user"),
    ("ListImpression", "visitor"),
    ("GenerationJob", "created_by"),
    ("Segment", "users"),
    ("UserProfile", "user"),
}


@pytest.fixture
def experiments():
    made = []
    for key in ("hero", "banner"):
        experiment = Experiment.objects.create(key=key, name=key, status=Experiment.Status.RUNNING)
        made.append((experiment, Variant.objects.create(experiment=experiment, name="A", text="a", is_control=True)))
    return made


def signed_in_session(user, visitor_key: str) -> None:
    """A live database session of ``user`` that still holds the key they browsed under anonymously."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[VISITOR_KEY] = visitor_key
    session.create()


def shopper_with_everything(name: str, experiments, segment, django_user_model):
    user = django_user_model.objects.create_user(name)
    visitor = f"visitor-{name}"
    signed_in_session(user, visitor)
    conversation = f"chat-{name}"
    Exchange.objects.create(session_id=conversation, question=f"hi, I am {name}", intent="faq", reply="hello")
    Exchange.objects.create(session_id=conversation, user=user, question="my order?", intent="faq", reply="x")
    now = timezone.now()
    chat = Conversation.objects.create(
        session_id=f"conv-{name}", user=user, last_activity_at=now, expires_at=now, state={"focus_order": "7"}
    )
    Exchange.objects.create(session_id=chat.session_id, conversation=chat, user=user, question="late", reply="x")
    Conversation.objects.create(session_id=f"anon-{name}", session_key=visitor, last_activity_at=now, expires_at=now)
    case = HandoffCase.objects.create(conversation=chat, reason="delivery", assignee=user)
    CaseMessage.objects.create(case=case, author=user, body=f"Hello {name}, we are on it.")
    AfterSalesRequest.objects.create(
        kind="return",
        user=user,
        decided_by=user,
        conversation=chat,
        order_number=f"7-{name}",
        idempotency_key=f"key-{name}",
    )
    Event.objects.create(user=user, kind="view", object_pk="1", created_at=now)
    Event.objects.create(session_key=visitor, kind="search", query=f"{name} shoes", created_at=now)
    UserProfile.objects.create(user=user, model_name="fake", vector=[1.0] * EMBEDDING_DIMENSIONS)
    (hero, hero_a), (banner, banner_a) = experiments
    Exposure.objects.create(experiment=hero, variant=hero_a, visitor=f"user:{user.pk}", converted_at=now)
    Exposure.objects.create(experiment=banner, variant=banner_a, visitor=f"visitor:{visitor}")
    signed_in_list = ListImpression.objects.create(
        kind="search", placement="api", query=f"{name} boots", user=user, product_pks=["1"], created_at=now
    )
    ListClick.objects.create(
        impression=signed_in_list, product_pk="1", position=1, kind="search", user=user, created_at=now
    )
    ListImpression.objects.create(
        kind="recommendation", placement="home", visitor=visitor, product_pks=["2"], created_at=now
    )
    segment.users.add(user)
    MarketingConsent.objects.create(user=user, consented=True, changed_at=now)
    campaign = Campaign.objects.create(segment=segment, subject=f"for {name}", body="b", reviewed_by=user)
    mailed = CampaignRecipient.objects.create(campaign=campaign, user=user, email=f"{name}@example.com", status="sent")
    CampaignClick.objects.create(recipient=mailed, product_pk="1", created_at=now)
    GenerationJob.objects.create(created_by=user)
    GeneratedCopy.objects.create(
        content_type=ContentType.objects.get_for_model(Segment),
        object_pk="1",
        field="title",
        text="t",
        reviewed_by=user,
    )
    return user


def holdings(user) -> dict[str, int]:
    """How many rows of each table are about ``user`` (the fixture's conversation and visitor key included)."""
    name = user.get_username()
    return {
        "exchanges": Exchange.objects.filter(session_id=f"chat-{name}").count(),
        "events": Event.objects.filter(user=user).count() + Event.objects.filter(session_key=f"visitor-{name}").count(),
        "profile": UserProfile.objects.filter(user=user).count(),
        "exposures": Exposure.objects.filter(visitor__in=[f"user:{user.pk}", f"visitor:visitor-{name}"]).count(),
        "segments": Segment.objects.filter(users=user).count(),
        "jobs": GenerationJob.objects.filter(created_by=user).count(),
        "reviews": GeneratedCopy.objects.filter(reviewed_by=user).count(),
        "conversations": Conversation.objects.filter(session_id__in=[f"conv-{name}", f"anon-{name}"]).count(),
        "chat turns": Exchange.objects.filter(session_id=f"conv-{name}").count(),
        "cases": HandoffCase.objects.filter(conversation__session_id=f"conv-{name}").count(),
        "staff replies": CaseMessage.objects.filter(body=f"Hello {name}, we are on it.").count(),
        "requests": AfterSalesRequest.objects.filter(user=user).count(),
        "lists shown": ListImpression.objects.filter(user=user).count()
        + ListImpression.objects.filter(visitor=f"visitor-{name}").count(),
        "clicks": ListClick.objects.filter(user=user).count(),
        "campaign mails": CampaignRecipient.objects.filter(user=user).count()
        + CampaignClick.objects.filter(recipient__email=f"{name}@example.com").count(),
        "consent": MarketingConsent.objects.filter(user=user).count(),
        "campaign reviews": Campaign.objects.filter(reviewed_by=user).count(),
        "staff work": HandoffCase.objects.filter(assignee=user).count()
        + CaseMessage.objects.filter(author=user).count()
        + AfterSalesRequest.objects.filter(decided_by=user).count(),
    }


EVERYTHING = {
    "exchanges": 2,
    "events": 2,
    "profile": 1,
    "exposures": 2,
    "segments": 1,
    "jobs": 1,
    "reviews": 1,
    "conversations": 2,
    "chat turns": 1,
    "cases": 1,
    "staff replies": 1,
    "requests": 1,
    "lists shown": 2,
    "clicks": 1,
    "campaign mails": 2,
    "consent": 1,
    "campaign reviews": 1,
    "staff work": 3,
}
NOTHING = dict.fromkeys(EVERYTHING, 0)


@pytest.fixture
def shoppers(experiments, django_user_model):
    segment = Segment.objects.create(name="Hikers")
    ann = shopper_with_everything("ann", experiments, segment, django_user_model)
    bob = shopper_with_everything("bob", experiments, segment, django_user_model)
    assert holdings(ann) == holdings(bob) == EVERYTHING
    return ann, bob


def test_every_table_that_can_hold_a_shopper_is_known_to_the_erasure():
    user_model = get_user_model()
    found = set()
    for model in apps.get_app_config("shopai").get_models():
        for field in model._meta.get_fields():
            points_at_user = field.is_relation and field.concrete and field.related_model is user_model
            if points_at_user or field.name in ("session_key", "session_id", "visitor"):
                found.add((model.__name__, field.name))
    assert found == SHOPPER_KEYS


def test_the_command_erases_one_shopper_everywhere_and_leaves_the_other(shoppers, experiments):
    ann, bob = shoppers
    out = StringIO()

    call_command("shopai_erase_shopper", "ann", "--yes", stdout=out)

    assert holdings(ann) == NOTHING
    assert holdings(bob) == EVERYTHING
    assert get_user_model().objects.filter(pk=ann.pk).exists()  # the account is the shop's
    printed = out.getvalue()
    for line in (
        "exchanges: 3",
        "events: 2",
        "interest profiles: 1",
        "segment memberships: 1",
        "conversations: 2",
        "handoff cases: 1",
        "after-sales requests unlinked: 1",
        "lists shown and clicks: 3",
        "campaign mails: 1",
        "marketing consent: 1",
    ):
        assert line in printed
    assert "experiment exposures anonymised: 2" in printed and "copy jobs and reviews unlinked: 3" in printed


def test_experiments_keep_their_counts_without_knowing_who(shoppers, experiments):
    ann, _ = shoppers
    (hero, _), (banner, _) = experiments

    erase_shopper(user=ann)

    assert hero.exposures.count() == banner.exposures.count() == 2
    assert hero.exposures.filter(converted_at__isnull=False).count() == 2
    assert Exposure.objects.filter(visitor__startswith="erased:").count() == 2


def test_the_command_asks_first_and_a_no_erases_nothing(shoppers, monkeypatch):
    ann, _ = shoppers
    monkeypatch.setattr("builtins.input", lambda prompt: "n")

    with pytest.raises(CommandError, match="Nothing erased"):
        call_command("shopai_erase_shopper", "ann", stdout=StringIO())
    with pytest.raises(CommandError, match="No user called 'nobody'"):
        call_command("shopai_erase_shopper", "nobody", "--yes", stdout=StringIO())

    assert holdings(ann) == EVERYTHING


def test_a_visitor_key_the_sessions_no_longer_hold_can_be_named(shoppers, django_user_model):
    ann, _ = shoppers
    Event.objects.create(session_key="old-visit", kind="view", object_pk="9", created_at=timezone.now())

    call_command("shopai_erase_shopper", "ann", "--yes", "--visitor", "old-visit", stdout=StringIO())

    assert not Event.objects.filter(session_key="old-visit").exists()


def test_the_admin_action_erases_the_selected_users(shoppers, django_user_model):
    ann, bob = shoppers
    staff = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw")
    request = RequestFactory().post("/admin/auth/user/")
    request.user, request.session = staff, {}
    request._messages = FallbackStorage(request)

    erase_shopai_data(UserAdmin(get_user_model(), admin.site), request, get_user_model().objects.filter(pk=ann.pk))

    assert holdings(ann) == NOTHING and holdings(bob) == EVERYTHING
    [message] = [str(m) for m in get_messages(request)]
    assert message.startswith("Erased shopai's data of 1 user (exchanges: 3, events: 2,")


def test_the_recommendations_erase_call_now_erases_everything(shoppers):
    ann, bob = shoppers

    assert erase_shopper_data(user=ann) == 2

    assert holdings(ann) == NOTHING and holdings(bob) == EVERYTHING


def test_the_host_hears_of_it_in_the_same_transaction(shoppers):
    ann, _ = shoppers
    heard = []

    def host_erases_orders(sender, *, user, visitor_keys, **kwargs):
        heard.append((sender, user, visitor_keys))
        return {"orders": 3}

    def host_fails(sender, **kwargs):
        raise RuntimeError("the shop's own erasure failed")

    shopper_erased.connect(host_fails, dispatch_uid="test_host_fails")
    try:
        with pytest.raises(RuntimeError):
            erase_shopper(user=ann)
    finally:
        shopper_erased.disconnect(dispatch_uid="test_host_fails")
    assert holdings(ann) == EVERYTHING  # all or nothing

    shopper_erased.connect(host_erases_orders, dispatch_uid="test_host_erases")
    try:
        removed = erase_shopper(user=ann)
    finally:
        shopper_erased.disconnect(dispatch_uid="test_host_erases")
    assert heard == [(get_user_model(), ann, ["visitor-ann"])]
    assert removed["orders"] == 3 and holdings(ann) == NOTHING


def test_erasing_twice_is_harmless(shoppers):
    ann, bob = shoppers
    erase_shopper(user=ann)

    assert set(erase_shopper(user=ann).values()) == {0}
    assert holdings(bob) == EVERYTHING


def test_with_sessions_the_database_cannot_search_only_named_visitor_keys_are_erased(shoppers, settings):
    ann, _ = shoppers
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"

    erase_shopper(user=ann)
    assert holdings(ann)["events"] == 1  # the anonymous search: nothing tells it was hers

    erase_shopper(user=ann, visitor_keys=["visitor-ann"])
    assert holdings(ann) == NOTHING


def test_deleting_an_account_erases_what_shopai_held_about_it(shoppers):
    ann, bob = shoppers
    name = ann.get_username()

    ann.delete()

    assert not Exchange.objects.filter(session_id=f"chat-{name}").exists()
    assert not Event.objects.filter(session_key=f"visitor-{name}").exists()
    assert holdings(bob) == EVERYTHING


def test_the_demo_shops_user_admin_offers_the_erasure(admin_user):
    request = RequestFactory().get("/admin/auth/user/")
    request.user = admin_user

    actions = admin.site._registry[get_user_model()].get_actions(request)

    assert "erase_shopai_data" in actions and "delete_selected" in actions
