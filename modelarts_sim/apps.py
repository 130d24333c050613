from django.apps import AppConfig


class ModelArtsSimConfig(AppConfig):
    name = "modelarts_sim"
    verbose_name = "ModelArts simulator"
