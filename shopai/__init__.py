"""shopai: language models at work inside a Django shop."""

__version__ = "0.1.0"
