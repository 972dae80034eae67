"""Operators that start Huawei Cloud log tasks, wait for them and hand their results on."""
