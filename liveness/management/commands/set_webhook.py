"""A partner's webhook in one command: where events go, and a signing secret (printed once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness.models import Partner
from liveness.services.api_keys import webhook_secret_rotate
from liveness.services.webhooks import WebhookUrlError, partner_webhook_url_set


class Command(BaseCommand):
    help = (
        "Set a partner's webhook URL (audited) and, if it has no signing secret yet or with --new-secret, give it "
        "one: the secret is printed once on stdout. Without --url, shows the current settings (never the secret)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", required=True, help="the partner's slug, e.g. demo-bank")
        parser.add_argument("--url", help='where to POST events; "" clears it (events are then not sent)')
        parser.add_argument(
            "--new-secret",
            action="store_true",
            help="replace the signing secret (the previous one keeps signing for the rotation grace period; see "
            "rotate_webhook_secret for --grace-hours)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            partner = Partner.objects.get(slug=options["partner"])
        except Partner.DoesNotExist:
            known = ", ".join(Partner.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(f"no partner with slug {options['partner']!r} (partners: {known})") from None
        if options["url"] is not None:
            try:
                changed = partner_webhook_url_set(partner=partner, url=options["url"], actor_label="command")
            except WebhookUrlError as exc:
                raise CommandError(f"--url: {exc.message}") from exc
            self.stderr.write(
                f"{partner.slug}: webhook URL {'set to' if changed else 'unchanged:'} {partner.webhook_url or '(none)'}"
            )
        else:
            self.stderr.write(f"{partner.slug}: webhook URL {partner.webhook_url or '(none)'}")
        if options["new_secret"] or (options["url"] and not partner.webhook_secret):
            secret = webhook_secret_rotate(partner=partner)
            self.stderr.write(
                f"New webhook signing secret for {partner.slug}; it is shown only now. Give it to the partner."
            )
            self.stdout.write(secret)
        else:
            self.stderr.write(
                f"{partner.slug}: signing secret {'set (not shown)' if partner.webhook_secret else 'none yet'}"
            )
