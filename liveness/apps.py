from django.apps import AppConfig


class LivenessConfig(AppConfig):
    name = "liveness"
    verbose_name = "Liveness verification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the built-in providers (the registry is filled by importing their modules).
        # The console's role groups (operator / supervisor / admin) follow every migrate, idempotently.
        from django.db.models.signals import post_migrate

        # The tasks are registered in every process (the web too): eager mode runs them where they are sent.
        from . import providers, system_checks, tasks  # noqa: F401  (system_checks registers the settings checks)
        from .roles import roles_post_migrate

        post_migrate.connect(roles_post_migrate, sender=self, dispatch_uid="liveness.roles")
