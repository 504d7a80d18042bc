import sys

from connhub.cli import main

sys.exit(main())
