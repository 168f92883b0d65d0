"""Grounding guard: flag facts in generated copy that the product's own data does not support.

``check_text(draft, source)`` reads a marketing draft (description, title, meta description,
bullet highlights; English or Chinese) and the product's facts (``ProductAdapter.get_facts``:
name, category, description and ``key: value`` lines) and returns the phrases of the draft
that state something the facts do not: numbers and units, prices, sizes, materials, colours,
claims and certifications, health claims, promised outcomes and superlatives, places of origin,
brand or product-line names, and links, e-mail addresses, phone numbers and markup (copy is
plain text; a link the data does not give sends customers somewhere nobody checked). Each flag
quotes the phrase exactly as the draft writes it, with a reason a shop owner can act on.

Rules, not a model: pure Python, deterministic, a few milliseconds per draft. The product's
text is only ever searched, never followed: a sentence in it that talks to a model ("ignore
previous instructions…") supports nothing, and the same words in a draft are flagged. Before it
reaches a model it is fenced as data, and ``without_fence_lookalikes`` takes out whatever in it
reads as the fence (any case, spacing, full-width or look-alike brackets, zero-width characters).

What it cannot see: a fact that is present in the source but attached to another part of the
product ("three-year warranty" on the motor when the source gives three years for the heating
plate), arithmetic (7 h + 21 h from the case = "28 hours"), and claims outside its lexicons
that use only ordinary words.

It lives in core because more than one feature checks text with it (the studio's copy drafts,
the assistant's replies); ``shopai.studio.grounding.check_product_text`` reads a product's facts
through the product adapter and checks a draft against them.
"""

from shopai.core.grounding.api import Flag, GroundingResult
from shopai.core.grounding.fences import without_fence_lookalikes
from shopai.core.grounding.guard import check_text

__all__ = ["Flag", "GroundingResult", "check_text", "without_fence_lookalikes"]
