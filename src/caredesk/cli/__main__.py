"""`python -m caredesk.cli` runs the same command line as `caredesk`."""

from caredesk.cli import main

main()
