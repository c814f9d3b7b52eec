"""``manage.py runserver_sandbox``: the development server, letting the Kairos sample headers through.

Exactly ``runserver`` (same arguments, no static handler: whitenoise serves static files), except that the
documented vendor headers with underscores (``app_id``, ``app_key``) reach the ``/sandbox/`` simulators.
See ``liveness/sandbox/server.py`` for why Django's server drops them and why this is safe.
"""

from __future__ import annotations

from django.core.management.commands.runserver import Command as RunserverCommand

from liveness.sandbox.server import VendorHeaderWSGIServer


class Command(RunserverCommand):
    help = "Start the development server with the vendor sandbox's documented headers passed through."
    server_cls = VendorHeaderWSGIServer
