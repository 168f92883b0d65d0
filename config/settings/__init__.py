"""Settings: ``base`` reads the environment, ``local`` is for development, ``test`` for pytest."""
