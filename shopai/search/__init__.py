"""Search: the product index (vectors and keywords), hybrid search, its evaluation."""
