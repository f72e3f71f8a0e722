#!/usr/bin/env python3
"""Entry point for `dmodel generate`; works installed or straight from a checkout."""

import pathlib
import sys

try:
    from dmodel.cli import run_script
except ModuleNotFoundError:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from dmodel.cli import run_script

run_script("generate")
