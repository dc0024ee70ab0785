from django.urls import path

from . import views

app_name = "metrics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("team/<str:team>/", views.team_dashboard, name="team"),
    path("scorecards/", views.scorecards, name="scorecards"),
    path("export/<str:table>.csv", views.export_csv, name="export"),
    path("digest/", views.digest_preview, name="digest"),
    path("reviews/", views.review_list, name="reviews"),
    path("reviews/open/", views.review_open, name="review_open"),
    path("reviews/<int:pk>/", views.review_detail, name="review"),
    path("reviews/<int:pk>/record/", views.review_record, name="review_record"),
    path("reviews/<int:pk>/actions/", views.review_action_create, name="review_action_add"),
    path("reviews/<int:pk>/actions/<int:action_pk>/done/", views.review_action_close, name="review_action_done"),
]
