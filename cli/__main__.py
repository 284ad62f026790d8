"""``python -m vidgraph.cli``: the same as the ``vidgraph`` command."""

from . import main

main()
