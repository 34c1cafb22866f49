"""``python -m deploy.drill``: the failover drill (deploy/drill/run.py)."""

import sys

from deploy.drill.run import main

sys.exit(main())
