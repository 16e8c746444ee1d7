"""The serving half of the container contract: gunicorn + flask, content negotiation, batch transform."""
