"""Configuration: settings (pydantic-settings) and their located problems, the schedule,
logging."""
