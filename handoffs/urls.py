from django.urls import path

from . import views

app_name = "handoffs"

urlpatterns = [
    path("", views.handoff_list, name="list"),
    path("mql-queue/", views.mql_queue, name="mql_queue"),
    path("queue/", views.outreach_queue, name="queue"),
    path("new/<int:lead_pk>/", views.handoff_new, name="new"),
    path("<int:pk>/accept/", views.accept, name="accept"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("attempt/<int:lead_pk>/", views.attempt, name="attempt"),
]
