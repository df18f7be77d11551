"""Analysis: Snapshot → Report. Who is admin, which edges lead from whom to whom (edges/, one module
per AWS service), and which non-admin principals can reach an admin. Pure: no I/O, no AWS calls.
The entry point is `deescalate.analysis.analyze.analyze` (also `deescalate.analyze`)."""
