"""Subcommands of ``pelvitrack``: one module each, with ``add_parser`` and ``run``."""
