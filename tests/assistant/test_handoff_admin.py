"""The customer-service inbox in admin: open cases oldest first with their figures, filters, staff replies
that reach the case, actions, and nothing for a staff member who may only look."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from shopai.assistant import handoffs
from shopai.models import CaseMessage, Conversation, Exchange, HandoffCase

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:shopai_handoffcase_changelist")


def conversation(user=None) -> Conversation:
    now = timezone.now()
    return Conversation.objects.create(
        session_id=uuid.uuid4().hex, user=user, last_activity_at=now, expires_at=now + timedelta(minutes=30)
    )


def case_opened(minutes_ago: float, *, reason: str = "asked", **fields) -> HandoffCase:
    case = handoffs.open_case(conversation=conversation(), exchange=None, reason=reason)
    HandoffCase.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(minutes=minutes_ago), **fields)
    case.refresh_from_db()
    return case


def staff_with(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def listed(response) -> list[HandoffCase]:
    return list(response.context["cl"].result_list)


def test_the_inbox_lists_unresolved_cases_oldest_first_with_its_figures(admin_client):
    recent = case_opened(30)
    oldest = case_opened(300)  # past the 240-minute SLA without a reply: overdue
    case_opened(600, status=HandoffCase.Status.RESOLVED)
    answered = case_opened(120, first_staff_reply_at=timezone.now() - timedelta(minutes=100))
    answered.status = HandoffCase.Status.WAITING
    answered.save()

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert listed(response) == [oldest, answered, recent]
    counts = response.context["shopai_case_counts"]
    assert dict((str(label), n) for label, n in counts["by_status"]) == {
        "open": 2, "assigned": 0, "waiting on shopper": 1, "resolved": 1,
    }  # fmt: skip
    assert counts["overdue"] == 1 and counts["median_first_reply_minutes"] == 20.0
    page = response.content.decode()
    assert "Overdue (no staff reply within 240 minutes): <strong>1</strong>" in page
    assert "Median time to the first staff reply (last 30 days): <strong>20.0</strong> minutes" in page


def test_the_filters_narrow_the_inbox(admin_client, admin_user):
    mine = case_opened(50, priority=HandoffCase.Priority.URGENT, assignee=admin_user, status="assigned")
    unassigned = case_opened(40, reason="delivery", language="zh")
    resolved = case_opened(30, status=HandoffCase.Status.RESOLVED)

    def shown(**params):
        return listed(admin_client.get(CHANGELIST, params))

    assert shown(open="all") == [mine, unassigned, resolved]
    assert shown(open="resolved") == [resolved]
    assert shown(status__exact="resolved") == [resolved]  # picking a status sets the open filter aside
    assert shown(assignee="me") == [mine]
    assert shown(assignee="none") == [unassigned]
    assert shown(priority__exact="1") == [mine]
    assert shown(reason__exact="delivery") == [unassigned]
    assert shown(language="zh") == [unassigned]


def test_staff_who_may_change_cases_reply_and_the_case_waits_on_the_shopper(client, django_user_model):
    case = case_opened(10)
    agent = staff_with(django_user_model, "agent", "view_handoffcase", "change_handoffcase")
    client.force_login(agent)
    url = reverse("admin:shopai_handoffcase_change", args=[case.pk])
    assert 'name="reply"' in client.get(url).content.decode()

    first = client.post(url, {"priority": "3", "reply": "  Your refund is on its way.  "}, follow=True)

    message = CaseMessage.objects.get()
    assert (message.case, message.author, message.body) == (case, agent, "Your refund is on its way.")
    case.refresh_from_db()
    assert case.status == HandoffCase.Status.WAITING and case.assignee == agent
    replied_at = case.first_staff_reply_at
    assert replied_at is not None
    assert "Reply sent; the shopper sees it in their chat." in first.content.decode()
    assert first.redirect_chain[-1][0] == url  # back on the case, the reply in its transcript
    assert "Your refund is on its way." in first.content.decode()

    client.post(url, {"priority": "3", "reply": "Anything else?"})

    case.refresh_from_db()
    assert CaseMessage.objects.count() == 2
    assert case.first_staff_reply_at == replied_at  # the SLA figure is the first reply's


def test_saving_without_a_reply_sends_nothing_and_a_resolved_case_takes_no_reply(admin_client):
    case = case_opened(10)
    url = reverse("admin:shopai_handoffcase_change", args=[case.pk])

    admin_client.post(url, {"priority": "1", "reply": "   "})
    case.refresh_from_db()
    assert case.priority == 1 and case.status == HandoffCase.Status.OPEN and not CaseMessage.objects.exists()

    handoffs.resolve_case(case=case)
    page = admin_client.get(url).content.decode()
    admin_client.post(url, {"priority": "1", "reply": "Too late"})

    assert 'name="reply"' not in page
    assert not CaseMessage.objects.exists()
    case.refresh_from_db()
    assert case.status == HandoffCase.Status.RESOLVED


def test_a_view_only_staff_member_sees_the_case_but_cannot_reply(client, django_user_model):
    case = case_opened(10)
    client.force_login(staff_with(django_user_model, "viewer", "view_handoffcase", "view_conversation"))
    url = reverse("admin:shopai_handoffcase_change", args=[case.pk])

    page = client.get(url)
    listing = client.get(CHANGELIST)
    reply = client.post(url, {"priority": "3", "reply": "Hello from a viewer"})
    action = client.post(CHANGELIST, {"action": "resolve", "_selected_action": [case.pk]})

    assert page.status_code == 200 and 'name="reply"' not in page.content.decode()
    assert listing.status_code == 200 and listing.context["cl"].result_list[0] == case
    assert listing.context["action_form"] is None  # no action offered
    assert reply.status_code == 403
    assert action.status_code == 200  # Django answers "no action selected", and does nothing
    case.refresh_from_db()
    assert not CaseMessage.objects.exists()
    assert case.status == HandoffCase.Status.OPEN and case.first_staff_reply_at is None


def test_assign_to_me_and_resolve_actions(admin_client, admin_user):
    first, second = case_opened(20), case_opened(10)

    admin_client.post(CHANGELIST, {"action": "assign_to_me", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.assignee == admin_user and first.status == HandoffCase.Status.ASSIGNED

    response = admin_client.post(
        CHANGELIST, {"action": "resolve", "_selected_action": [first.pk, second.pk]}, follow=True
    )

    assert "2 cases resolved" in response.content.decode()
    for case in (first, second):
        case.refresh_from_db()
        assert case.status == HandoffCase.Status.RESOLVED and case.resolved_at is not None
        assert case.conversation.handoff_status == Conversation.Handoff.NONE
    assert listed(admin_client.get(CHANGELIST)) == []  # resolved cases leave the inbox


def test_the_transcript_shows_the_conversation_in_order_and_escaped(admin_client):
    case = case_opened(10)
    chat = case.conversation
    Exchange.objects.create(
        session_id=chat.session_id, conversation=chat, language="en", intent="faq",
        question="<script>alert('x')</script> where is my parcel?", reply="Let me get a colleague.",
    )  # fmt: skip
    handoffs.reply_to_case(case=case, staff=None, body="<b>It left today.</b>")

    page = admin_client.get(reverse("admin:shopai_handoffcase_change", args=[case.pk])).content.decode()

    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; where is my parcel?" in page
    assert "<script>alert(" not in page
    assert "&lt;b&gt;It left today.&lt;/b&gt;" in page and "<b>It left today." not in page
    question, reply, staff = (page.index(text) for text in ("where is my parcel?", "Let me get", "It left today"))
    assert question < reply < staff


def test_the_list_shows_waiting_time_first_reply_and_last_message(admin_client):
    case = case_opened(300)
    Exchange.objects.create(
        session_id=case.conversation.session_id, conversation=case.conversation, language="en", intent="faq",
        question="Is anybody there?", reply="A colleague will take over.",
    )  # fmt: skip

    page = admin_client.get(CHANGELIST).content.decode()

    assert "overdue" in page and "5\xa0hours" in page
    assert "<em>shopper:</em> Is anybody there?" in page


def test_conversations_are_read_only_and_show_only_the_start_of_their_id(admin_client):
    case = case_opened(10)
    chat = case.conversation
    Exchange.objects.create(
        session_id=chat.session_id, conversation=chat, language="en", intent="faq", question="Hello?", reply="Hi!"
    )

    listing = admin_client.get(reverse("admin:shopai_conversation_changelist")).content.decode()
    page = admin_client.get(reverse("admin:shopai_conversation_change", args=[chat.pk])).content.decode()

    assert chat.session_id[:8] in listing and chat.session_id not in listing
    assert chat.session_id not in page
    assert "Hello?" in page and reverse("admin:shopai_handoffcase_change", args=[case.pk]) in page
    assert 'name="_save"' not in page
