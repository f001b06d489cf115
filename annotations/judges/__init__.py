"""Model judges: configurations, prompt templates, providers, runs and offline checkers."""
