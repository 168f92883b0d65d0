"""Recommendations: events, interest profiles, recommenders, tuning and offline evaluation."""
