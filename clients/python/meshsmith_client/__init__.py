"""meshsmith Python client: `from meshsmith_client import Client`."""
