"""Confidence intervals for click-through rates: Wilson's score interval for one rate, Newcombe's hybrid score
interval (built from two Wilson intervals) for the difference between two.

Wilson rather than the textbook p ± z·√(p(1−p)/n): it stays inside 0–100 %, is not zero-width when there are
no clicks yet, and keeps close to its nominal 95 % coverage for the small rates (1–3 %) appeals get.
"""

import math

Z95 = 1.959963984540054


def wilson(successes, trials, z=Z95):
    """(low, high) for the proportion successes/trials, or None without trials."""
    if trials <= 0:
        return None
    successes = max(0, min(successes, trials))
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def difference(successes_a, trials_a, successes_b, trials_b, z=Z95):
    """(estimate, low, high) for rate_b − rate_a (Newcombe 1998, method 10), or None if either has no trials."""
    if trials_a <= 0 or trials_b <= 0:
        return None
    successes_a, successes_b = min(successes_a, trials_a), min(successes_b, trials_b)
    pa, pb = successes_a / trials_a, successes_b / trials_b
    la, ua = wilson(successes_a, trials_a, z)
    lb, ub = wilson(successes_b, trials_b, z)
    estimate = pb - pa
    low = estimate - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2)
    high = estimate + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2)
    return estimate, low, high
