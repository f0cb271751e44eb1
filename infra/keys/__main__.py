import sys

from infra.keys.command import main

sys.exit(main())
