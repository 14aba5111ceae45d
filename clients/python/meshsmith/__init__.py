"""meshsmith Python client: `from meshsmith import Client`."""
