"""`python -m searchkit` runs the command line."""

from .cli import main

# Guarded: reader processes started by forkserver import this module as `__mp_main__`.
if __name__ == "__main__":
    main()
