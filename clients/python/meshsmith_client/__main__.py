import sys

from meshsmith_client.cli import main

if __name__ == "__main__":  # worker processes are spawned: they must not re-run the CLI
    sys.exit(main())
