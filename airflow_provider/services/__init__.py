"""One module per remote API; nothing is imported here so a DAG loads only the service it uses."""
