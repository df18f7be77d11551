"""`python -m deescalate` runs the command line."""

from deescalate.cli import main

raise SystemExit(main())
