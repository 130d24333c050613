"""Keeps the source described by the MODELARTS_* environment variables in the database."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def ensure_environment_source(sender, app_config=None, using="default", **kwargs) -> None:
    if app_config is None or app_config.label != "configs_app":
        return
    from configs_app.sources import environment_source

    environment_source(using=using)
