"""Triggers: the async half of deferrable waits, run by Airflow's triggerer."""
