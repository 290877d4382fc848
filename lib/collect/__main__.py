"""`python -m lib.collect CONFIG.toml ...`: run the collector's command line."""
import sys

from .cli import main

sys.exit(main())
