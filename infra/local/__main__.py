import sys

from infra.local.command import main

sys.exit(main())
