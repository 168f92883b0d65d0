"""Reference "next basket" recommender for wholesale order lines.

Pure functions over events = iterable of (user, item, ts, qty) tuples
  user, item: hashable ids (CustomerID, StockCode)
  ts:         datetime.datetime; all lines of one order MUST share the same ts
              (a basket is identified by (user, ts))
  qty:        number (only used to drop returns/zero lines; ranking uses presence)

Typical service use (e.g. a nightly job + a per-request call):
    p     = DEFAULT_PARAMS
    model = fit(all_events, now, p["pop_half_life_days"], with_sim=False)   # global statistics
    recs  = recommend(model, events_of_user, now, p)  # list of up to k items
Only numpy is needed, and only for the content (embedding) component.

Scores (all per user, each normalised to max = 1 before blending):
  w(i)      = sum over the user's past baskets containing i of 0.5 ** (age_days / half_life)
  repurchase(i) = w(i)                                                (own history)
  cooc(j)   = sum_i w(i) * cos(i, j),  cos(i, j) = n_ij / sqrt(n_i * n_j)
              n_* = number of baskets containing the item(s), i != j   (co-purchase)
  content(j)= max(0, cos(profile, e_j)), profile = sum_i w(i) e_i / sum_i w(i) (MiniLM of Description)
  pop(j)    = sum over all baskets containing j of 0.5 ** (age_days / pop_half_life)
              (pop_half_life None = plain count of baskets)             (popularity prior)
  score(j)  = a*repurchase + b*cooc + c*content + d*pop
"""

import math
from collections import defaultdict

# Stock codes in the UCI Online Retail data that are not products.
NON_PRODUCT_CODES = {
    "POST",
    "DOT",
    "M",
    "C2",
    "D",
    "S",
    "B",
    "m",
    "CRUK",
    "PADS",
    "AMAZONFEE",
    "BANK CHARGES",
    "gift_0001_10",
}

# Chosen on the validation split (see REPORT.md; POST excluded from items): "REP+POP".
# Co-occurrence and content components are implemented but got weight 0 / were not
# worth their cost on validation.
DEFAULT_PARAMS = {
    "half_life_days": 180.0,  # decay of the user's own history (None = plain frequency)
    "pop_half_life_days": 30.0,  # decay of the popularity prior ("trending"); used by fit()
    "weights": {"repurchase": 0.5, "cooc": 0.0, "content": 0.0, "pop": 0.5},
    "exclude_bought": False,  # wholesaler: re-offering past items is most of the signal
    "k": 10,
}


def is_product(item):
    return item not in NON_PRODUCT_CODES


def clean(events, exclude=NON_PRODUCT_CODES):
    """Drop non-product codes and non-positive quantities (returns / cancellations)."""
    return [e for e in events if e[1] not in exclude and e[3] > 0]


def baskets(events):
    """{(user, ts): set(items)}"""
    out = defaultdict(set)
    for user, item, ts, _qty in events:
        out[(user, ts)].add(item)
    return out


def popularity(events, now=None, half_life_days=None):
    """{item: number of distinct baskets containing it}; with half_life_days each basket
    counts 0.5 ** (age_days / half_life_days) instead of 1 ("trending" popularity)."""
    pop = defaultdict(float)
    for (_user, ts), items in baskets(events).items():
        d = 1.0 if not half_life_days else 0.5 ** ((now - ts).total_seconds() / 86400.0 / half_life_days)
        for i in items:
            pop[i] += d
    return dict(pop)


def item_item_cosine(events):
    """Basket co-occurrence cosine: {i: {j: n_ij / sqrt(n_i n_j)}}, no diagonal."""
    n = defaultdict(int)
    nij = defaultdict(lambda: defaultdict(int))
    for items in baskets(events).values():
        items = sorted(items)
        for i in items:
            n[i] += 1
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                nij[items[a]][items[b]] += 1
                nij[items[b]][items[a]] += 1
    return {i: {j: c / math.sqrt(n[i] * n[j]) for j, c in row.items()} for i, row in nij.items()}


def fit(events, now, pop_half_life_days=None, with_sim=True):
    """Global model from all events strictly before `now`.
    pop: plain basket counts (candidate set + tie-break); pop_prior: (decayed) popularity component;
    sim: item-item cosine (only needed when the cooc weight is > 0; O(sum of basket_size^2))."""
    hist = [e for e in events if e[2] < now]
    pop = popularity(hist)
    prior = popularity(hist, now, pop_half_life_days) if pop_half_life_days else pop
    sim = item_item_cosine(hist) if with_sim else {}
    return {"pop": pop, "pop_prior": prior, "sim": sim, "now": now}


def user_weights(user_events, now, half_life_days=None):
    """{item: sum over the user's baskets (before now) containing item of decay(age)}."""
    w = defaultdict(float)
    for items_ts, items in _user_baskets(user_events, now):
        age = (now - items_ts).total_seconds() / 86400.0
        d = 1.0 if not half_life_days else 0.5 ** (age / half_life_days)
        for i in items:
            w[i] += d
    return dict(w)


def _user_baskets(user_events, now):
    b = defaultdict(set)
    for _u, item, ts, _q in user_events:
        if ts < now:
            b[ts].add(item)
    return b.items()


def cooc_scores(w, sim):
    s = defaultdict(float)
    for i, wi in w.items():
        for j, c in sim.get(i, {}).items():
            s[j] += wi * c
    return dict(s)


def content_scores(w, emb, candidates):
    """emb: {item: unit-norm numpy vector}. Cosine(profile, e_j) for candidates with an embedding."""
    import numpy as np

    known = [(i, x) for i, x in w.items() if i in emb]
    if not known:
        return {}
    prof = sum(x * emb[i] for i, x in known) / sum(x for _, x in known)
    prof = prof / (np.linalg.norm(prof) or 1.0)
    return {j: max(0.0, float(emb[j] @ prof)) for j in candidates if j in emb}


def _norm(s):
    m = max(s.values(), default=0.0)
    return {k: v / m for k, v in s.items()} if m > 0 else {}


def components(model, user_events, now, half_life_days=None, emb=None):
    """Per-user component scores, each normalised to max 1."""
    w = user_weights(user_events, now, half_life_days)
    comps = {"repurchase": _norm(w), "cooc": _norm(cooc_scores(w, model["sim"])), "pop": _norm(model["pop_prior"])}
    if emb is not None:
        comps["content"] = _norm(content_scores(w, emb, model["pop"].keys()))
    return comps, w


def recommend(model, user_events, now, params=DEFAULT_PARAMS, emb=None):
    """Top-k items for one user. Candidates = items sold before `now` (model['pop'])."""
    wts = {c: x for c, x in params["weights"].items() if x}
    comps, w = components(model, user_events, now, params.get("half_life_days"), emb if wts.get("content") else None)
    score = defaultdict(float)
    for c, x in wts.items():
        for i, v in comps[c].items():
            score[i] += x * v
    pop = model["pop"]
    # candidates: every item sold before `now`; score-0 items act as a popularity backfill
    cand = [i for i in pop if not (params.get("exclude_bought") and i in w)]
    # ties: more popular first, then item id (deterministic)
    cand.sort(key=lambda i: (-score.get(i, 0.0), -pop.get(i, 0), str(i)))
    return cand[: params.get("k", 10)]


def recommend_popular(model, k=10):
    """Most popular items (model['pop_prior']: plain or decayed basket counts)."""
    pop, prior = model["pop"], model["pop_prior"]
    return sorted(pop, key=lambda i: (-prior.get(i, 0.0), -pop[i], str(i)))[:k]


def recommend_for(events, user, now, params=DEFAULT_PARAMS, emb=None):
    """Convenience one-shot call: fit on everything before `now` and recommend for `user`."""
    model = fit(events, now, params.get("pop_half_life_days"), with_sim=bool(params["weights"].get("cooc")))
    return recommend(model, [e for e in events if e[0] == user], now, params, emb)


def recommend_repurchase(user_events, now, half_life_days=None, k=10):
    """Re-offer the user's own past items: by (decayed) basket frequency, then recency."""
    w = user_weights(user_events, now, half_life_days)
    last = {}
    for _u, i, ts, _q in user_events:
        if ts < now and (i not in last or ts > last[i]):
            last[i] = ts
    return sorted(w, key=lambda i: (-w[i], -last[i].timestamp(), str(i)))[:k]
