"""deescalate: find AWS IAM privilege-escalation paths and cut them with minimal, verified denies."""

__version__ = "0.1.0"
