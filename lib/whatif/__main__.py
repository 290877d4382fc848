"""`python -m lib.whatif --simulator fitted.pt --curriculum FILE --out FILE`: run the what-if command line."""
import sys

from lib.whatif.cli import main

sys.exit(main())
