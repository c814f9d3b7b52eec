"""Demo data for a fresh install: the measured engine-score table and the history generator."""
