"""One module per emulated service: its in-memory model and its FastAPI router."""
