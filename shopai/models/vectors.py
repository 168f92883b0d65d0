"""What every stored vector shares."""

# Width of the vectors of shopai's own default model (all-MiniLM-L6-v2). Stored vectors are of
# any width: each embedding model keeps its own (``EmbeddingSpace``) and gets its own HNSW index.
EMBEDDING_DIMENSIONS = 384
# HNSW build parameters of every per-model index (pgvector's defaults).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
