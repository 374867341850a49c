"""``python -m hub`` runs the ``prophub`` command line."""

from hub.cli import main

main()
