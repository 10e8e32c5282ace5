"""``python -m hwnas``: the ``hwnas`` command (what ``torchrun -m hwnas search ...`` runs in every process)."""

import sys

from hwnas.cli import main

if __name__ == "__main__":
    sys.exit(main())
