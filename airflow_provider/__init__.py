"""Apache Airflow provider for Huawei Cloud log tasks (edge manager, CloudDC, DIS, CSS, DCS)."""

from __future__ import annotations

__version__ = "0.1.0"
