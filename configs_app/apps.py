from django.apps import AppConfig


class ConfigsAppConfig(AppConfig):
    name = "configs_app"
    verbose_name = "ModelArts training job configs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from configs_app import signals  # noqa: F401  (creates the environment source after migrate)
