"""Sensors that wait for a Huawei Cloud log task (poke, reschedule or deferrable)."""
