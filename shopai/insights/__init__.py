"""AI insights for shop staff: what the assistant, search, recommendations and experiments are doing.

Pages in Django admin (``shopai.insights.admin``), figures computed by SQL over shopai's tables
(``figures``), charts drawn on the server as SVG (``charts``), and the click link and API that count
clicks on tracked lists (``views``, ``api``; the recording itself is ``shopai.core.tracking``).
It reads the features through their public API; no feature imports it.
"""
