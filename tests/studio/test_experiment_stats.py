"""A/B test statistics: deterministic assignment, hand-checked numbers, simulated experiments, bad input."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from shopai.studio.experiment_stats import (
    CONTROL_BETTER,
    NO_DIFFERENCE,
    NOT_ENOUGH_DATA,
    VARIANT_BETTER,
    assign_variant,
    bucket,
    compare,
    evaluate,
    holm,
    wilson_interval,
    winner,
    z_test,
)

# --- assignment -------------------------------------------------------------------------------


def test_assignment_is_deterministic_and_depends_on_the_experiment():
    variants = [("A", 1), ("B", 1), ("C", 1)]
    first = [assign_variant("desc-42", f"visitor-{i}", variants) for i in range(500)]
    again = [assign_variant("desc-42", f"visitor-{i}", variants) for i in range(500)]
    other = [assign_variant("desc-43", f"visitor-{i}", variants) for i in range(500)]
    assert first == again
    assert first != other  # another experiment reshuffles visitors
    # Key and visitor id are separated, so "ab" + "c" and "a" + "bc" are different visitors' hashes.
    assert bucket("ab", "c") != bucket("a", "bc")
    assert all(0 <= bucket("k", f"v{i}") < 1 for i in range(1000))


def _chi_square(observed: Counter, expected: dict[str, float]) -> float:
    return sum((observed[name] - e) ** 2 / e for name, e in expected.items())


def test_assignment_is_roughly_uniform():
    n = 20_000
    names = ["A", "B", "C", "D"]
    counts = Counter(assign_variant("uniformity", f"visitor-{i}", [(x, 1) for x in names]) for i in range(n))
    assert set(counts) == set(names)
    # 3 degrees of freedom: P(chi² > 16.27) = 0.001.
    assert _chi_square(counts, {x: n / 4 for x in names}) < 16.27, counts
    # The buckets themselves: 10 equal bins, 9 degrees of freedom, P(chi² > 27.88) = 0.001.
    bins = Counter(min(9, int(bucket("uniformity", f"visitor-{i}") * 10)) for i in range(n))
    assert _chi_square(Counter({str(k): v for k, v in bins.items()}), {str(k): n / 10 for k in range(10)}) < 27.88


def test_assignment_respects_weights_and_normalises_them():
    n = 20_000
    weights = [("A", 1), ("B", 3), ("off", 0)]  # sum 4, not 1
    counts = Counter(assign_variant("weights", f"v{i}", weights) for i in range(n))
    assert counts["off"] == 0
    # 1 degree of freedom: P(chi² > 10.83) = 0.001.
    assert _chi_square(counts, {"A": n / 4, "B": 3 * n / 4}) < 10.83, counts
    # Scaling all weights does not move anybody.
    scaled = [("A", 0.25), ("B", 0.75), ("off", 0.0)]
    assert all(
        assign_variant("weights", f"v{i}", weights) == assign_variant("weights", f"v{i}", scaled) for i in range(2000)
    )


def test_a_single_variant_takes_everybody():
    assert {assign_variant("solo", f"v{i}", [("only", 2.5)]) for i in range(100)} == {"only"}


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([], "variants is empty"),
        ([("A", 1), ("B", -1)], "'B' is -1.0; weights must be finite and >= 0"),
        ([("A", 0), ("B", 0)], "all variant weights are 0"),
        ([("A", 1), ("A", 2)], "listed twice"),
        ([("A", float("nan"))], "must be finite"),
        ([("A", "1")], "must be a number"),
        ([("A",)], "(name, weight) pairs"),
        ([("", 1)], "non-empty strings"),
    ],
)
def test_assignment_refuses_bad_weights(variants, message):
    with pytest.raises(ValueError) as info:
        assign_variant("exp", "visitor", variants)
    assert message in str(info.value)


def test_assignment_refuses_empty_ids():
    with pytest.raises(ValueError, match="experiment_key"):
        assign_variant("", "visitor", [("A", 1)])
    with pytest.raises(ValueError, match="visitor_id"):
        assign_variant("exp", "", [("A", 1)])


# --- a case checked by hand -------------------------------------------------------------------


def test_known_case_by_hand():
    # Control 100/1000 = 10 %, variant 130/1000 = 13 %.
    # Pooled rate 230/2000 = 0.115; SE = sqrt(0.115 * 0.885 * (1/1000 + 1/1000)) = sqrt(0.00020355) = 0.0142671
    # z = (0.13 - 0.10) / 0.0142671 = 2.1027; two-sided p = 2 * (1 - Phi(2.1027)) = 2 * 0.01774 = 0.0355.
    c = compare((1000, 100), (1000, 130))
    assert c.control_rate == pytest.approx(0.10)
    assert c.variant_rate == pytest.approx(0.13)
    assert c.difference == pytest.approx(0.03)
    assert c.z == pytest.approx(2.1027, abs=1e-4)
    assert c.p_value == pytest.approx(0.0355, abs=1e-4)
    assert c.adjusted_p_value == c.p_value
    assert c.verdict == VARIANT_BETTER
    assert c.significant
    assert "converts better" in c.reason
    # Wilson 95 % intervals (z = 1.95996): control [0.08291, 0.12015], variant [0.11056, 0.15227].
    # Newcombe: low  = 0.03 - sqrt((0.13 - 0.11056)² + (0.12015 - 0.10)²) = 0.03 - 0.02800 = 0.00200
    #           high = 0.03 + sqrt((0.15227 - 0.13)² + (0.10 - 0.08291)²) = 0.03 + 0.02807 = 0.05807
    assert wilson_interval(100, 1000) == pytest.approx((0.08291, 0.12015), abs=1e-5)
    assert c.difference_ci == pytest.approx((0.00200, 0.05807), abs=1e-5)
    # (The Wald interval would be 0.03 ± 1.96 * sqrt(0.09/1000 + 0.1131/1000) = [0.00207, 0.05793]: close.)
    # Uplift 13 / 10 - 1 = 0.30; SE of log ratio = sqrt(1/100 - 1/1000 + 1/130 - 1/1000) = 0.125269;
    # exp(ln 1.3 ± 1.95996 * 0.125269) - 1 = exp(0.262364 ± 0.245521) - 1 = [0.01698, 0.66178].
    assert c.uplift == pytest.approx(0.30)
    assert c.uplift_ci == pytest.approx((0.01698, 0.66178), abs=1e-5)


def test_known_case_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    c = compare((1000, 100), (1000, 130))
    assert c.p_value == pytest.approx(2 * stats.norm.sf(c.z), rel=1e-9)
    # The z-test p equals the p of the chi-square test of the 2x2 table without continuity correction.
    chi2 = stats.chi2_contingency([[100, 900], [130, 870]], correction=False)
    assert c.p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert c.z**2 == pytest.approx(chi2.statistic, rel=1e-9)


def test_direction_and_other_confidence():
    c = compare((1000, 130), (1000, 100))
    assert c.verdict == CONTROL_BETTER
    assert c.z == pytest.approx(-2.1027, abs=1e-4)
    assert c.difference_ci[1] < 0
    # At 99 % the same data are not enough (p = 0.0355 > 0.01), and the interval is wider.
    strict = compare((1000, 100), (1000, 130), confidence=0.99)
    assert strict.verdict == NO_DIFFERENCE
    assert strict.difference_ci[0] < 0 < strict.difference_ci[1]
    assert "could be chance" in strict.reason


def test_identical_arms():
    c = compare((2000, 200), (2000, 200))
    assert (c.z, c.p_value, c.difference, c.uplift) == (0.0, 1.0, 0.0, 0.0)
    assert c.verdict == NO_DIFFERENCE


def test_zeros_do_not_divide_by_zero():
    none = compare((500, 0), (500, 0), min_conversions=0)
    assert (none.z, none.p_value, none.uplift, none.uplift_ci) == (0.0, 1.0, None, None)
    assert none.difference_ci[0] < 0 < none.difference_ci[1]
    assert none.verdict == NO_DIFFERENCE
    everyone = compare((500, 500), (500, 500), min_conversions=0)
    assert (everyone.z, everyone.p_value) == (0.0, 1.0)
    lost = compare((500, 50), (500, 0), min_conversions=0)
    assert lost.uplift == -1.0 and lost.uplift_ci is None
    assert lost.verdict == CONTROL_BETTER
    from_zero = compare((500, 0), (500, 50), min_conversions=0)
    assert from_zero.uplift is None and from_zero.verdict == VARIANT_BETTER
    assert -1 <= from_zero.difference_ci[0] <= from_zero.difference_ci[1] <= 1
    empty = compare((0, 0), (0, 0))
    assert empty.control_rate == 0.0 and empty.difference_ci == (-1.0, 1.0)
    assert empty.verdict == NOT_ENOUGH_DATA
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert z_test((0, 0), (10, 5)) == (0.0, 1.0)


# --- not enough data --------------------------------------------------------------------------


def test_small_samples_are_not_enough_data_and_say_why():
    few_impressions = compare((40, 5), (40, 15))
    assert few_impressions.verdict == NOT_ENOUGH_DATA
    assert "control 'control' has 40 impressions, fewer than the minimum of 100" in few_impressions.reason
    assert "variant 'variant' has 40 impressions" in few_impressions.reason
    # The statistics are still reported, only the verdict holds back.
    assert few_impressions.p_value < 0.05
    few_conversions = compare((300, 2), (300, 9))
    assert few_conversions.verdict == NOT_ENOUGH_DATA
    assert "control 'control' has 2 conversions, fewer than the minimum of 5" in few_conversions.reason
    nearly_all = compare((300, 298), (300, 280))
    assert nearly_all.verdict == NOT_ENOUGH_DATA
    assert "2 impressions without a conversion" in nearly_all.reason
    # The minimums are configurable.
    assert compare((40, 5), (40, 15), min_impressions=30).verdict == VARIANT_BETTER
    assert compare((300, 2), (300, 9), min_conversions=2).verdict != NOT_ENOUGH_DATA


# --- simulated traffic ------------------------------------------------------------------------


def _simulate(rates: dict[str, float], visitors: int, seed: int, experiment: str = "sim") -> dict[str, tuple[int, int]]:
    """Visitors assigned by ``assign_variant``, each converting with its variant's rate."""
    rng = random.Random(seed)
    counts = {name: [0, 0] for name in rates}
    arms = [(name, 1) for name in rates]
    for i in range(visitors):
        name = assign_variant(experiment, f"seed{seed}-visitor{i}", arms)
        counts[name][0] += 1
        counts[name][1] += rng.random() < rates[name]
    return {name: (n, x) for name, (n, x) in counts.items()}


def test_clearly_better_variant_wins():
    arms = _simulate({"old": 0.10, "new": 0.14}, visitors=10_000, seed=7)
    assert all(4700 < n < 5300 for n, _ in arms.values()), arms
    c = compare(arms["old"], arms["new"], control_name="old", variant_name="new")
    assert c.verdict == VARIANT_BETTER, c.reason
    assert c.difference_ci[0] < 0.04 < c.difference_ci[1]
    assert c.uplift_ci[0] < 0.40 < c.uplift_ci[1]
    assert winner(arms, "old") == "new"
    # Swapped roles: the control is the better one.
    assert compare(arms["new"], arms["old"]).verdict == CONTROL_BETTER
    assert winner({"new": arms["new"], "old": arms["old"]}, "new") is None


def _binomial_arms(rng: np.random.Generator, rates: dict[str, float], n: int) -> dict[str, tuple[int, int]]:
    return {name: (n, int(rng.binomial(n, rate))) for name, rate in rates.items()}


def test_equal_variants_are_rarely_called_different():
    # 10 % vs 10 %, 5,000 visitors per arm, 400 independent experiments. At 95 % confidence about 5 % of
    # them should come out "significant" by chance; the standard error of that rate over 400 runs is
    # sqrt(0.05 * 0.95 / 400) = 1.1 points, so 8 % is about three standard errors above the nominal level.
    runs = 400
    false_positives = 0
    for seed in range(runs):
        arms = _binomial_arms(np.random.default_rng(seed), {"A": 0.10, "B": 0.10}, 5000)
        false_positives += compare(arms["A"], arms["B"]).significant
    rate = false_positives / runs
    assert 0.01 <= rate <= 0.08, rate


def test_equal_variants_with_assignment_in_the_loop():
    # A smaller run through assign_variant (unequal arm sizes, as in a real shop): 200 experiments.
    runs = 200
    false_positives = sum(
        compare(*_simulate({"A": 0.10, "B": 0.10}, 2000, seed, "aa").values(), min_impressions=100).significant
        for seed in range(runs)
    )
    assert false_positives / runs <= 0.09, false_positives


def test_holm_keeps_the_family_wise_error_with_many_equal_variants():
    # Control and 4 equal variants: without a correction the chance that at least one of the 4 looks
    # significant is about 1 - 0.95^4 ≈ 17 % (less, the tests share the control); with Holm it stays near 5 %.
    runs = 400
    raw_hits = holm_hits = 0
    for seed in range(runs):
        arms = _binomial_arms(np.random.default_rng(1000 + seed), dict.fromkeys("ABCDE", 0.10), 3000)
        comparisons = evaluate(arms, "A")
        raw_hits += any(c.p_value < 0.05 for c in comparisons)
        holm_hits += any(c.significant for c in comparisons)
    assert raw_hits / runs > 0.09
    assert holm_hits / runs <= 0.08, holm_hits / runs


# --- several variants -------------------------------------------------------------------------


def test_holm_adjustment_by_hand():
    # Sorted 0.01, 0.03, 0.04 with m = 3: 3 * 0.01 = 0.03; max(0.03, 2 * 0.03) = 0.06; max(0.06, 1 * 0.04) = 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([0.2]) == [0.2]
    assert holm([]) == []


def test_evaluate_corrects_for_several_variants():
    arms = {
        "control": (1000, 100),
        "B": (1000, 130),  # p = 0.0355 alone
        "C": (1000, 101),
        "D": (1000, 99),
    }
    comparisons = evaluate(arms, "control")
    assert [c.variant for c in comparisons] == ["B", "C", "D"]
    assert all(c.control == "control" for c in comparisons)
    b = comparisons[0]
    assert b.p_value == pytest.approx(0.0355, abs=1e-4)
    assert b.adjusted_p_value == pytest.approx(3 * b.p_value)  # smallest of 3: times 3
    assert b.verdict == NO_DIFFERENCE  # significant alone, not after the correction
    assert "Holm-adjusted p" in b.reason
    assert all(c.adjusted_p_value >= c.p_value for c in comparisons)
    assert winner(arms, "control") is None
    # With a single variant there is nothing to correct: same as compare().
    (single,) = evaluate({"control": (1000, 100), "B": (1000, 130)}, "control")
    assert single == compare((1000, 100), (1000, 130), control_name="control", variant_name="B")
    assert single.verdict == VARIANT_BETTER


def test_winner_picks_the_best_significant_variant():
    arms = {"control": (5000, 500), "good": (5000, 650), "better": (5000, 720), "same": (5000, 505)}
    comparisons = {c.variant: c for c in evaluate(arms, "control")}
    assert comparisons["good"].verdict == VARIANT_BETTER
    assert comparisons["better"].verdict == VARIANT_BETTER
    assert comparisons["same"].verdict == NO_DIFFERENCE
    assert winner(arms, "control") == "better"
    # A variant short of data can be neither promoted nor trusted.
    small = {"control": (5000, 500), "tiny": (50, 20)}
    assert evaluate(small, "control")[0].verdict == NOT_ENOUGH_DATA
    assert winner(small, "control") is None


def test_simulated_three_variants():
    arms = _simulate({"A": 0.10, "B": 0.10, "C": 0.14}, visitors=15_000, seed=3)
    verdicts = {c.variant: c.verdict for c in evaluate(arms, "A")}
    assert verdicts == {"B": NO_DIFFERENCE, "C": VARIANT_BETTER}
    assert winner(arms, "A") == "C"


# --- invalid input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "variant", "message"),
    [
        ((100, 130), (1000, 10), "control 'control': conversions (130) exceed impressions (100)"),
        ((1000, 10), (-5, 0), "variant 'variant': impressions is -5; counts cannot be negative"),
        ((1000, 10), (1000, -1), "conversions is -1"),
        ((1000.0, 10), (1000, 10), "impressions must be a whole number; got 1000.0"),
        ((1000, "10"), (1000, 10), "conversions must be a whole number"),
        ((1000, True), (1000, 10), "conversions must be a whole number"),
        ((1000,), (1000, 10), "expected a pair (impressions, conversions)"),
        (None, (1000, 10), "expected a pair"),
    ],
)
def test_compare_refuses_bad_counts(control, variant, message):
    with pytest.raises(ValueError) as info:
        compare(control, variant)
    assert message in str(info.value)


def test_compare_accepts_numpy_integers():
    c = compare((np.int64(1000), np.int64(100)), (np.int32(1000), np.int64(130)))
    assert c.p_value == pytest.approx(0.0355, abs=1e-4)
    assert isinstance(c.control_impressions, int)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, "0.95", True])
def test_compare_refuses_bad_confidence(confidence):
    with pytest.raises(ValueError, match="confidence must be a number strictly between 0 and 1"):
        compare((1000, 100), (1000, 130), confidence=confidence)


def test_settings_and_arms_are_checked():
    with pytest.raises(ValueError, match="min_impressions must be a whole number >= 0"):
        compare((1000, 100), (1000, 130), min_impressions=-1)
    with pytest.raises(ValueError, match="min_conversions"):
        evaluate({"a": (1, 0), "b": (1, 0)}, "a", min_conversions=2.5)
    with pytest.raises(ValueError, match=r"control 'x' is not among the arms \('a', 'b'\)"):
        evaluate({"a": (1, 0), "b": (1, 0)}, "x")
    with pytest.raises(ValueError, match="only the control"):
        evaluate({"a": (1, 0)}, "a")
    with pytest.raises(ValueError, match=r"variant 'b': conversions \(5\) exceed impressions \(3\)"):
        winner({"a": (10, 1), "b": (3, 5)}, "a")


def test_p_values_stay_accurate_when_tiny():
    c = compare((100_000, 10_000), (100_000, 12_000))
    assert 0 < c.p_value < 1e-40
    assert math.isfinite(c.z)
