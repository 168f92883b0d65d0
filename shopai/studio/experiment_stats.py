"""Statistics for A/B tests of generated marketing texts: assignment, comparison, several variants.

Pure functions of counts, no models and no database. A shop shows each visitor one variant of a text
(``assign_variant``), counts impressions and conversions per variant, and asks ``compare`` (one
variant against the control) or ``evaluate`` / ``winner`` (several variants against the control,
with a Holm–Bonferroni correction) whether a variant converts better.

Methods, chosen to behave with small counts and zeros:

* conversion rate: conversions / impressions (0.0 for an arm without impressions);
* absolute difference (variant − control): Newcombe's hybrid score interval (Wilson score intervals
  of both rates combined; Newcombe 1998, method 10), which stays inside [-1, 1] and copes with 0 and
  100 % rates, unlike the Wald interval;
* relative uplift (variant / control − 1): delta method on the log of the rate ratio (Katz log
  interval); undefined (``None``) when an arm has no conversions;
* p-value: two-sided two-proportion z-test with the pooled rate; 1.0 when both arms have the same
  0 % or 100 % rate (nothing to tell apart);
* several variants: Holm–Bonferroni adjusted p-values over all variants compared with the control.

The verdict follows the (adjusted) p-value at level ``1 - confidence``. The confidence intervals
are per comparison, not adjusted for multiplicity; near the threshold the pooled test and the score
interval can (rarely) disagree on whether 0 is excluded.

Peeking at the results every day and stopping at the first significant one inflates the false
positive rate well above ``1 - confidence``: fix the sample size (or the run time) beforehand.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from django.utils.translation import gettext_noop

# Marked for translation (admin shows them translated); the values themselves stay English.
VARIANT_BETTER = gettext_noop("variant better")
CONTROL_BETTER = gettext_noop("control better")
NO_DIFFERENCE = gettext_noop("no significant difference")
NOT_ENOUGH_DATA = gettext_noop("not enough data")
VERDICTS = (VARIANT_BETTER, CONTROL_BETTER, NO_DIFFERENCE, NOT_ENOUGH_DATA)

DEFAULT_CONFIDENCE = 0.95
DEFAULT_MIN_IMPRESSIONS = 100
DEFAULT_MIN_CONVERSIONS = 5  # per arm; the usual rule of thumb for the normal approximation

_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class Comparison:
    """One variant against the control.

    ``difference`` is variant rate − control rate (absolute, e.g. 0.03 = 3 percentage points);
    ``uplift`` is variant rate / control rate − 1 (relative, e.g. 0.3 = +30 %). Intervals are
    ``(low, high)`` at ``confidence``. ``p_value`` is the raw two-sided p-value, ``adjusted_p_value``
    the Holm-adjusted one (equal to ``p_value`` for a single comparison); the verdict uses the latter.
    ``reason`` says in words why the verdict was given.
    """

    control: str
    variant: str
    control_impressions: int
    control_conversions: int
    variant_impressions: int
    variant_conversions: int
    control_rate: float
    variant_rate: float
    difference: float
    difference_ci: tuple[float, float]
    uplift: float | None
    uplift_ci: tuple[float, float] | None
    z: float
    p_value: float
    adjusted_p_value: float
    confidence: float
    verdict: str
    reason: str

    @property
    def significant(self) -> bool:
        return self.verdict in (VARIANT_BETTER, CONTROL_BETTER)


# --- assignment -------------------------------------------------------------------------------


def bucket(experiment_key: str, visitor_id: str) -> float:
    """A number in [0, 1), uniform over visitors: sha256 of the UTF-8 ``experiment_key``, a NUL byte
    and ``visitor_id``; its first 53 bits divided by 2**53 (exact as a float)."""
    if not isinstance(experiment_key, str) or not experiment_key:
        raise ValueError("experiment_key must be a non-empty string (e.g. 'product-42-description').")
    if "\0" in experiment_key:
        raise ValueError("experiment_key must not contain a NUL character.")
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ValueError(
            "visitor_id must be a non-empty string (a session key or user id); "
            "give anonymous visitors a stable id, e.g. their session key."
        )
    digest = hashlib.sha256(experiment_key.encode() + b"\0" + visitor_id.encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


def _checked_weights(variants: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    if not variants:
        raise ValueError("variants is empty: give at least one (name, weight) pair, e.g. [('A', 1), ('B', 1)].")
    checked: list[tuple[str, float]] = []
    seen: set[str] = set()
    for entry in variants:
        try:
            name, weight = entry
        except (TypeError, ValueError):
            raise ValueError(f"variants must be (name, weight) pairs; got {entry!r}.")
        if not isinstance(name, str) or not name:
            raise ValueError(f"variant names must be non-empty strings; got {name!r}.")
        if name in seen:
            raise ValueError(f"variant {name!r} is listed twice; each name must appear once.")
        seen.add(name)
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise ValueError(f"the weight of variant {name!r} must be a number; got {weight!r}.")
        weight = float(weight)
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(
                f"the weight of variant {name!r} is {weight!r}; weights must be finite and >= 0 "
                "(use 0 to switch a variant off)."
            )
        checked.append((name, weight))
    if sum(weight for _, weight in checked) <= 0:
        raise ValueError("all variant weights are 0: give at least one variant a positive weight.")
    return checked


def assign_variant(experiment_key: str, visitor_id: str, variants: Sequence[tuple[str, float]]) -> str:
    """The variant shown to ``visitor_id`` in ``experiment_key``: always the same for the same inputs.

    ``variants`` are ``(name, weight)`` pairs; weights are relative (``[("A", 1), ("B", 3)]`` shows B
    to about 75 % of visitors) and may be 0 to switch a variant off. The visitor's ``bucket`` is
    placed on the cumulative normalised weights, so changing the weights or their order mid-experiment
    moves visitors between variants: decide them before the experiment starts.
    """
    checked = _checked_weights(variants)
    total = sum(weight for _, weight in checked)
    point = bucket(experiment_key, visitor_id) * total
    cumulative = 0.0
    for name, weight in checked:
        cumulative += weight
        if weight > 0 and point < cumulative:
            return name
    # Rounding of the cumulative sum can leave the very top of the range uncovered.
    return next(name for name, weight in reversed(checked) if weight > 0)


# --- comparison -------------------------------------------------------------------------------


def _count(value: object, what: str, arm: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{arm}: {what} must be a whole number; got {value!r} ({type(value).__name__}).")
    value = int(value)
    if value < 0:
        raise ValueError(f"{arm}: {what} is {value}; counts cannot be negative.")
    return value


def _arm_counts(counts: object, arm: str) -> tuple[int, int]:
    try:
        impressions, conversions = counts  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"{arm}: expected a pair (impressions, conversions); got {counts!r}.")
    impressions = _count(impressions, "impressions", arm)
    conversions = _count(conversions, "conversions", arm)
    if conversions > impressions:
        raise ValueError(
            f"{arm}: conversions ({conversions}) exceed impressions ({impressions}). Pass (impressions, conversions) "
            "in that order, and count at most one conversion per impression (e.g. unique visitors who saw the text "
            "and unique visitors among them who bought)."
        )
    return impressions, conversions


def _check_settings(confidence: object, min_impressions: object, min_conversions: object) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number strictly between 0 and 1 (e.g. 0.95); got {confidence!r}.")
    for name, value in (("min_impressions", min_impressions), ("min_conversions", min_conversions)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0; got {value!r}.")
    return float(confidence)


def _z_critical(confidence: float) -> float:
    return _STANDARD_NORMAL.inv_cdf(0.5 + confidence / 2)


def wilson_interval(conversions: int, impressions: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a conversion rate; (0.0, 1.0) without impressions."""
    if impressions == 0:
        return 0.0, 1.0
    z = _z_critical(confidence)
    p = conversions / impressions
    z2n = z * z / impressions
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / impressions + z2n / (4 * impressions))
    # Exact bounds at 0 and 100 % (the formula gives them up to rounding).
    low = 0.0 if conversions == 0 else max(0.0, centre - half)
    high = 1.0 if conversions == impressions else min(1.0, centre + half)
    return low, high


def sample_size_per_arm(
    control_rate: float, uplift: float, *, confidence: float = DEFAULT_CONFIDENCE, power: float = 0.8
) -> int | None:
    """Visitors each arm needs for the two-sided test to detect a relative ``uplift`` (0.2 = +20 %)
    over ``control_rate`` with probability ``power``: the usual normal-approximation formula for two
    proportions (Fleiss), rounded up. None when it cannot be told (a rate of 0 or 1, an uplift of 0,
    or a target rate above 1)."""
    target = control_rate * (1 + uplift)
    if not 0 < control_rate < 1 or uplift == 0 or not 0 < target < 1:
        return None
    z_alpha, z_power = _z_critical(confidence), _STANDARD_NORMAL.inv_cdf(power)
    pooled = (control_rate + target) / 2
    spread = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
        control_rate * (1 - control_rate) + target * (1 - target)
    )
    return math.ceil(spread**2 / (target - control_rate) ** 2)


def _difference_interval(control: tuple[int, int], variant: tuple[int, int], confidence: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval of variant rate − control rate."""
    (n1, x1), (n2, x2) = control, variant
    p1 = x1 / n1 if n1 else 0.0
    p2 = x2 / n2 if n2 else 0.0
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return max(-1.0, low), min(1.0, high)


def _uplift(
    control: tuple[int, int], variant: tuple[int, int], confidence: float
) -> tuple[float | None, tuple[float, float] | None]:
    """Relative uplift and its interval (delta method on log(rate ratio)); ``None`` where undefined."""
    (n1, x1), (n2, x2) = control, variant
    if x1 == 0 or n2 == 0:
        return None, None  # relative to a 0 % control rate (or an unmeasured variant): undefined
    ratio = (x2 / n2) / (x1 / n1)
    if x2 == 0:
        return ratio - 1, None  # -100 %, but log(0) has no interval
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    z = _z_critical(confidence)
    log_ratio = math.log(ratio)
    return ratio - 1, (math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1)


def z_test(control: tuple[int, int], variant: tuple[int, int]) -> tuple[float, float]:
    """``(z, two-sided p)`` of the pooled two-proportion z-test; z > 0 when the variant converts better.

    ``(0.0, 1.0)`` when there is nothing to tell apart: an arm without impressions, or both arms at 0 %
    (or both at 100 %).
    """
    (n1, x1), (n2, x2) = control, variant
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x2 / n2 - x1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))  # = 2 * (1 - Phi(|z|)), accurate for tiny p


def _shortfall(counts: tuple[int, int], arm: str, min_impressions: int, min_conversions: int) -> str | None:
    impressions, conversions = counts
    if impressions < min_impressions:
        return f"{arm} has {impressions} impressions, fewer than the minimum of {min_impressions}"
    if conversions < min_conversions:
        return f"{arm} has {conversions} conversions, fewer than the minimum of {min_conversions}"
    if impressions - conversions < min_conversions:
        return (
            f"{arm} has {impressions - conversions} impressions without a conversion, "
            f"fewer than the minimum of {min_conversions}"
        )
    return None


def _points(value: float) -> str:
    return f"{value * 100:.2f} percentage points"


def _verdict(
    *,
    control: str,
    variant: str,
    control_counts: tuple[int, int],
    variant_counts: tuple[int, int],
    difference: float,
    adjusted_p: float,
    corrected: bool,
    confidence: float,
    min_impressions: int,
    min_conversions: int,
) -> tuple[str, str]:
    shortfalls = [
        reason
        for reason in (
            _shortfall(control_counts, f"control {control!r}", min_impressions, min_conversions),
            _shortfall(variant_counts, f"variant {variant!r}", min_impressions, min_conversions),
        )
        if reason
    ]
    if shortfalls:
        return NOT_ENOUGH_DATA, "; ".join(shortfalls) + ": keep the experiment running."
    alpha = 1 - confidence
    p_text = f"{'Holm-adjusted ' if corrected else ''}p = {adjusted_p:.4g}"
    if adjusted_p < alpha and difference != 0:
        better, worse = (variant, control) if difference > 0 else (control, variant)
        verdict = VARIANT_BETTER if difference > 0 else CONTROL_BETTER
        return verdict, (
            f"{better!r} converts better than {worse!r} by {_points(abs(difference))} ({p_text} < {alpha:.3g})."
        )
    return NO_DIFFERENCE, (
        f"the difference of {_points(difference)} between {variant!r} and {control!r} "
        f"could be chance ({p_text} >= {alpha:.3g})."
    )


def _compare(
    control: str,
    control_counts: tuple[int, int],
    variant: str,
    variant_counts: tuple[int, int],
    *,
    confidence: float,
    min_impressions: int,
    min_conversions: int,
    adjusted_p: float | None = None,
) -> Comparison:
    n1, x1 = control_counts
    n2, x2 = variant_counts
    control_rate = x1 / n1 if n1 else 0.0
    variant_rate = x2 / n2 if n2 else 0.0
    difference = variant_rate - control_rate
    z, p = z_test(control_counts, variant_counts)
    corrected = adjusted_p is not None
    adjusted = p if adjusted_p is None else adjusted_p
    uplift, uplift_ci = _uplift(control_counts, variant_counts, confidence)
    verdict, reason = _verdict(
        control=control,
        variant=variant,
        control_counts=control_counts,
        variant_counts=variant_counts,
        difference=difference,
        adjusted_p=adjusted,
        corrected=corrected,
        confidence=confidence,
        min_impressions=min_impressions,
        min_conversions=min_conversions,
    )
    return Comparison(
        control=control,
        variant=variant,
        control_impressions=n1,
        control_conversions=x1,
        variant_impressions=n2,
        variant_conversions=x2,
        control_rate=control_rate,
        variant_rate=variant_rate,
        difference=difference,
        difference_ci=_difference_interval(control_counts, variant_counts, confidence),
        uplift=uplift,
        uplift_ci=uplift_ci,
        z=z,
        p_value=p,
        adjusted_p_value=adjusted,
        confidence=confidence,
        verdict=verdict,
        reason=reason,
    )


def compare(
    control: tuple[int, int],
    variant: tuple[int, int],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    min_impressions: int = DEFAULT_MIN_IMPRESSIONS,
    min_conversions: int = DEFAULT_MIN_CONVERSIONS,
    control_name: str = "control",
    variant_name: str = "variant",
) -> Comparison:
    """Compare one variant with the control; each arm is ``(impressions, conversions)``.

    The verdict is ``"not enough data"`` while an arm has fewer than ``min_impressions`` impressions,
    fewer than ``min_conversions`` conversions or fewer than ``min_conversions`` non-converting
    impressions; otherwise ``"variant better"`` / ``"control better"`` when the two-sided p-value is
    below ``1 - confidence``, else ``"no significant difference"``.
    """
    confidence = _check_settings(confidence, min_impressions, min_conversions)
    return _compare(
        control_name,
        _arm_counts(control, f"control {control_name!r}"),
        variant_name,
        _arm_counts(variant, f"variant {variant_name!r}"),
        confidence=confidence,
        min_impressions=int(min_impressions),
        min_conversions=int(min_conversions),
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (1-based) of m becomes ``max over j <= i of min(1, (m - j + 1) p_j)``;
    rejecting where the adjusted value is below alpha is Holm's step-down procedure.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def evaluate(
    arms: Mapping[str, tuple[int, int]],
    control: str,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    min_impressions: int = DEFAULT_MIN_IMPRESSIONS,
    min_conversions: int = DEFAULT_MIN_CONVERSIONS,
) -> list[Comparison]:
    """Every other arm against ``control``, in the order of ``arms``, Holm-corrected.

    ``arms`` maps variant names to ``(impressions, conversions)``. All variants form the family of
    the correction, including those still short of data (conservative: adding a variant later cannot
    make earlier verdicts less strict).
    """
    confidence = _check_settings(confidence, min_impressions, min_conversions)
    if not isinstance(arms, Mapping):
        raise ValueError("arms must be a mapping of variant name -> (impressions, conversions).")
    if control not in arms:
        raise ValueError(f"control {control!r} is not among the arms ({', '.join(map(repr, arms)) or 'none'}).")
    if len(arms) < 2:
        raise ValueError("arms has only the control: add at least one variant to compare with it.")
    counts = {
        name: _arm_counts(value, f"{'control' if name == control else 'variant'} {name!r}")
        for name, value in arms.items()
    }
    variants = [name for name in counts if name != control]
    raw = [z_test(counts[control], counts[name])[1] for name in variants]
    adjusted = holm(raw) if len(variants) > 1 else [None] * len(variants)
    return [
        _compare(
            control,
            counts[control],
            name,
            counts[name],
            confidence=confidence,
            min_impressions=int(min_impressions),
            min_conversions=int(min_conversions),
            adjusted_p=adjusted_p,
        )
        for name, adjusted_p in zip(variants, adjusted, strict=True)
    ]


def winner(
    arms: Mapping[str, tuple[int, int]],
    control: str,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    min_impressions: int = DEFAULT_MIN_IMPRESSIONS,
    min_conversions: int = DEFAULT_MIN_CONVERSIONS,
) -> str | None:
    """The variant to promote, or ``None`` (keep the control, or keep the experiment running).

    A variant qualifies when its verdict against the control is ``"variant better"`` after the Holm
    correction; among several, the one with the highest observed conversion rate (the data do not
    necessarily show that it beats the other qualifying variants, only the control).
    """
    better = [
        c
        for c in evaluate(
            arms, control, confidence=confidence, min_impressions=min_impressions, min_conversions=min_conversions
        )
        if c.verdict == VARIANT_BETTER
    ]
    if not better:
        return None
    return max(better, key=lambda c: (c.variant_rate, -c.adjusted_p_value)).variant
