from django.urls import path

from configs_app import views

app_name = "configs"

urlpatterns = [
    path("", views.overview, name="overview"),
]
