"""Local emulator of the five log-task services and IAM (what moto is for AWS).

Start it with ``python -m airflow_provider.emulator`` or, in tests, with
``airflow_provider.testing.run_emulator``. Importing this package is cheap: the server
modules load only when used.
"""

from __future__ import annotations
