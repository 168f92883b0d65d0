"""What every stored vector shares."""

# Width of every stored vector. A constant (not a setting) because migrations use it;
# system check shopai.E003 compares it with the configured backend.
EMBEDDING_DIMENSIONS = 384
