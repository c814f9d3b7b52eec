from django.apps import AppConfig


class LivenessConfig(AppConfig):
    name = "liveness"
    verbose_name = "Liveness verification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the built-in providers (the registry is filled by importing their modules).
        from . import providers  # noqa: F401
