import sys

from connhub.launch import main

sys.exit(main())
