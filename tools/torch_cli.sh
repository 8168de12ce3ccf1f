#!/bin/sh
# Runs tools/torch_cli.py (the PyTorch reference of MODEL.md's command line) with the developer venv.
exec "${SEQ2SEQ_PYTHON:-/work/venv/bin/python}" "$(dirname "$0")/torch_cli.py" "$@"
