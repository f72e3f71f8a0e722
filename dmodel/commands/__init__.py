"""Subcommands of the dmodel CLI, one module each."""
