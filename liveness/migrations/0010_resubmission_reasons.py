from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("liveness", "0009_console_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="decision",
            name="resubmission_reasons",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
