"""`python -m cds_service …` is the `baclofen-cds` command."""

from cds_service.cli import main

raise SystemExit(main())
