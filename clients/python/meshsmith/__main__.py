import sys

from meshsmith.cli import main

sys.exit(main())
