"""Validation rules (ERROR -> quarantine, WARNING -> flag) and the quality report."""

from marketlake.quality.rules import RULES, Rule, Severity
from marketlake.quality.validate import Validated, validate_bars

__all__ = ["RULES", "Rule", "Severity", "Validated", "validate_bars"]
