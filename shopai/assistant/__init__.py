"""The customer-service assistant: intents, the FAQ knowledge base, answers, product questions, evaluation.

Public API (what a host's own views or other code may call): ``answer_question`` (what
``POST /api/shopai/ask`` runs) with its ``AssistantReply``, and ``record_feedback``.
"""

from shopai.assistant.answers import AssistantReply, answer_question, record_feedback

__all__ = ["AssistantReply", "answer_question", "record_feedback"]
