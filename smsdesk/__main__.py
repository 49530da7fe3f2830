from smsdesk.cli.main import main

raise SystemExit(main())
