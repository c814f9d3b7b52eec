from django.db import migrations, models


class Migration(migrations.Migration):

    # The audit action partner.webhook_url_changed (console page and set_webhook command).
    dependencies = [
        ('liveness', '0010_resubmission_reasons'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('api_key.created', 'API key created'), ('api_key.revoked', 'API key revoked'), ('api_key.rotated', 'API key rotated'), ('accuracy.exported', 'Accuracy table exported'), ('blocklist.added', 'Face put on the blocklist'), ('blocklist.removed', 'Face taken off the blocklist'), ('case.assigned', 'Case assigned'), ('case.auto_decided', 'Case decided by the policy'), ('case.claimed', 'Case claimed'), ('case.closed', 'Case closed'), ('case.created', 'Case created'), ('case.face_search', 'Repeat-face search done'), ('case.released', 'Claim released'), ('case.resubmitted', 'Case resubmitted'), ('case.verdict_final', 'Final verdict sent'), ('check.failed', 'Check failed'), ('check.fallback', 'Check fell back to another provider'), ('check.retry_scheduled', 'Check retry scheduled'), ('check.skipped', 'Check skipped'), ('check.succeeded', 'Check settled'), ('decision.applied', 'Decision applied'), ('decision.approved', 'Override approved'), ('decision.refused', 'Override refused'), ('decision.requested', 'Override waiting for approval'), ('demo.history_seeded', 'Demo history created'), ('evidence.purged', 'Images purged'), ('evidence.viewed', 'Image viewed'), ('face_template.purged', 'Face templates purged'), ('partner.webhook_secret_rotated', 'Webhook signing secret rotated'), ('partner.webhook_url_changed', 'Webhook URL changed'), ('provider_setting.changed', 'Provider settings changed'), ('queue.exported', 'Review queue exported'), ('session.created', 'Verification session created'), ('session.opened', 'Verification link opened'), ('session.consent_accepted', 'Consent accepted'), ('session.challenge_issued', 'Challenge issued'), ('session.prompt_issued', 'Prompt issued'), ('session.frame_received', 'Frame received'), ('session.frame_refused', 'Frame refused'), ('session.document_received', 'Document received'), ('session.submitted', 'Session submitted'), ('session.expired', 'Session expired'), ('session.cancelled', 'Session cancelled'), ('webhook.delivered', 'Webhook delivered'), ('webhook.failed', 'Webhook given up'), ('webhook.queued', 'Webhook queued'), ('webhook.redelivery_requested', 'Webhook redelivery requested')], db_index=True, max_length=60),
        ),
    ]
