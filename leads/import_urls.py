from django.urls import path

from . import import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.import_list, name="list"),
    path("<int:pk>/", import_views.import_job, name="job"),
    path("<int:pk>/mapping/", import_views.import_mapping, name="mapping"),
    path("<int:pk>/progress/", import_views.import_progress, name="progress"),
    path("<int:pk>/run/", import_views.import_run, name="run"),
    path("<int:pk>/errors.csv", import_views.import_errors_csv, name="errors_csv"),
]
