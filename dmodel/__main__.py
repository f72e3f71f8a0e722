from dmodel.cli import main

raise SystemExit(main())
