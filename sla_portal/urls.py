from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    # The work screens (issue 4).
    path("overview/", views.overview, name="overview"),
    path("workspace/", views.workspace_switch, name="workspace_switch"),
    path("leads/", include("leads.urls")),
    path("handoffs/", include("handoffs.urls")),
    path("members/", include("onboarding.urls")),
    path("", include("sla.urls")),
    # Dashboards, scorecards, digest and alignment reviews (issue 5).
    path("dashboard/", include("metrics.urls")),
    # REST API with its schema and docs, and the CSV import screens (issue 6).
    path("api/", include("sla_portal.api_urls")),
    path("imports/", include("leads.import_urls")),
]
