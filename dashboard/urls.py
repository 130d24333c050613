"""URL configuration. Every page needs a login (LoginRequiredMiddleware); the few that must not
(login itself, the health check) are marked with ``login_not_required``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from configs_app import views

admin.site.site_header = "ModelArts Config Dashboard administration"
admin.site.site_title = "ModelArts Config Dashboard"

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("configs_app.urls")),
]
