"""Annotator quality control for leads: each annotator against the pool, gold, time, skips."""
