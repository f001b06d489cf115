"""Model judges: LLM raters that judge the same items as the experts, and the clients they call."""
