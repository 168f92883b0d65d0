"""Plumbing every feature may use and none owns: language, on-commit batching, counters, redaction."""
