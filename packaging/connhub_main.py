"""The frozen app's entry point: the same `connhub` command as the pip-installed one."""

import sys

from connhub.launch import main

if __name__ == "__main__":
    sys.exit(main())
