"""Entry point for ``python -m airflow_provider.emulator``."""

from __future__ import annotations

import sys

from airflow_provider.emulator.cli import main

sys.exit(main())
