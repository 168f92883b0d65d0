"""Template context shared by every store page."""

from store.models import Category


def catalogue(request):
    # Lazy: the query only runs on pages that render the category menu.
    return {"top_categories": Category.objects.filter(parent__isnull=True)}
