"""The customer-service assistant: intents, the FAQ knowledge base, answers, product questions, evaluation."""
