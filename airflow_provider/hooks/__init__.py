"""Hooks: an Airflow connection turned into typed, synchronous calls of one service each."""
