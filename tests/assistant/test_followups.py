"""Short replies read against the assistant's last question: what counts as an answer, and what is a
new question that must reach the FAQ (no model needed)."""

import pytest

from shopai.assistant.followups import FollowUp, read_followup

LINES = {"slot": "line", "options": ["2", "7", "9"]}  # order line ids, listed to the shopper as 1., 2., 3.
ORDERS = {"slot": "order_number", "options": ["1204", "1187"]}
CONFIRM = {"slot": "confirm"}


@pytest.mark.parametrize(
    ("text", "pending", "language", "expected"),
    [
        # A question that starts politely is a question, not a "thanks".
        ("Thanks, what are your opening hours?", None, "en", None),
        ("ok how long is shipping?", None, "en", None),
        ("still waiting for my refund", None, "en", None),
        ("thanks!", None, "en", FollowUp("ack")),
        ("还是没到", None, "zh", FollowUp("still", "1204")),
        ("order 1204", None, "en", FollowUp("order_number", "1204")),
        # A confirmation is a plain yes; anything said with it is not.
        ("yes please", CONFIRM, "en", FollowUp("yes")),
        ("好的", CONFIRM, "zh", FollowUp("yes")),
        ("ok wait no", CONFIRM, "en", None),
        ("yes, but only the socks", CONFIRM, "en", None),
        ("no", CONFIRM, "en", FollowUp("no")),
        ("算了", CONFIRM, "zh", FollowUp("no")),
        # Items are chosen by their place in the list, never by an internal id.
        ("2", LINES, "en", FollowUp("choice", "7")),
        ("the last one", LINES, "en", FollowUp("choice", "9")),
        ("第二件", LINES, "zh", FollowUp("choice", "7")),
        # Orders by number, or by place when the number is a single digit.
        ("1187", ORDERS, "en", FollowUp("order_number", "1187")),
        ("#5512", ORDERS, "en", FollowUp("order_number", "5512")),
        ("2", ORDERS, "en", FollowUp("choice", "1187")),
        ("the second one", ORDERS, "en", FollowUp("choice", "1187")),
        ("第一个", ORDERS, "zh", FollowUp("choice", "1204")),
        ("How long does delivery take?", ORDERS, "en", None),
    ],
)
def test_short_replies(text, pending, language, expected):
    assert read_followup(text=text, pending=pending, language=language, focus_order="1204") == expected
