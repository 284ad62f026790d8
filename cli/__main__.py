"""``python -m vidgraph.cli``: the same as the ``vidgraph`` command."""

from . import main

if __name__ == "__main__":  # a spawned child process (``serve.asker``) imports this module too: it must not run
    main()
