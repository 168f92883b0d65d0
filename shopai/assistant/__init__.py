"""The customer-service assistant: intents, the FAQ knowledge base, answers, product questions, evaluation.

Public API (what a host's own views or other code may call): ``answer_question`` (what
``POST /api/shopai/ask`` runs) with its ``AssistantReply``, ``record_feedback``, and
``group_unanswered_questions`` (questions it could not answer, grouped by meaning).
"""

from shopai.assistant.answers import AssistantReply, answer_question, record_feedback
from shopai.assistant.unanswered import group_unanswered_questions

__all__ = ["AssistantReply", "answer_question", "group_unanswered_questions", "record_feedback"]
