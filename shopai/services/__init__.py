"""Services: everything that writes or calls a model."""
