"""Policy documents: parsing (`parse`), and the evaluator: condition operators (`conditions`),
variables and context lookup (`variables`), matchers (`match`), compiled policies (`compiled`),
snapshot-derived context keys (`context`), principal/resource views (`subjects`), statement-group
scans (`scan`), combining the gates into a decision (`combine`), the Authorizer (`evaluate`) and
decision rendering for `explain` (`explain`)."""
