"""`python -m astronomer_runtime` is the same as the `astro-runtime` command."""

from astronomer_runtime.cli import main

raise SystemExit(main())
