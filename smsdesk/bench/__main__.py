"""``python -m smsdesk.bench``."""

from smsdesk.bench.cli import main

raise SystemExit(main())
