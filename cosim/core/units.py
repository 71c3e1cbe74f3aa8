"""Conversion constants, in one place."""

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400
KW_PER_MW = 1000.0
