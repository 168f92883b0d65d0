"""Ready-made integrations with shop frameworks (each needs its framework installed)."""
