"""lucia's Django management commands (``python manage.py help lucia_purge``)."""
