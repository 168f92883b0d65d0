"""What every feature's Celery tasks retry on."""

from django.db import InterfaceError, OperationalError

from shopai.backends import BackendError

# Failures worth another try: the database or broker hiccuped, a model server timed out.
TRANSIENT = (OperationalError, InterfaceError, BackendError, ConnectionError, TimeoutError)
