"""DRF glue for shopai, kept apart from the services it calls."""
