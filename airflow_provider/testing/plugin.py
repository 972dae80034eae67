"""pytest plugin entry point (fixtures are added by the emulator work)."""
