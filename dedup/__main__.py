"""`python -m dedup` runs the command line."""

from dedup.cli import main

main(prog_name="dedup")
