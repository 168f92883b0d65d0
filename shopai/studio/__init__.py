"""The marketing studio: copy drafts, grounding, experiments, segments and campaigns."""
