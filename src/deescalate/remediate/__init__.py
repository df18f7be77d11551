"""Remediation: Report → Plan (an exact minimum deny set per principal, placed within IAM quotas and
verified by re-analysis) → IAM calls with a journal → revert. `aws.py` is the only module here that
talks to AWS; everything before `apply` is pure."""
