"""The `ewppt` command (also `python -m optimizer`): Ctrl-C works from its first moment.

The interrupt handler is installed before pandas, Pyomo and typer are imported (about a second),
so that Ctrl-C while the command starts also ends it with exit 130 and one line.
"""

import sys

from optimizer.solving import interrupt, progress


def main() -> None:
    interrupt.install()
    try:
        with progress.stage("starting"):
            from optimizer.cli import main as run
    except KeyboardInterrupt:
        interrupt.say_once(lambda text: print(text, file=sys.stderr, flush=True))
        sys.exit(interrupt.EXIT_INTERRUPTED)
    run()


if __name__ == "__main__":
    main()
