from django.urls import path

from . import views

app_name = "sla"

urlpatterns = [
    path("escalations/", views.escalation_list, name="escalations"),
    path("escalations/<int:pk>/", views.escalation_detail, name="escalation_detail"),
    path("escalations/<int:pk>/acknowledge/", views.escalation_acknowledge_view, name="escalation_acknowledge"),
    path("escalations/<int:pk>/resolve/", views.escalation_resolve_view, name="escalation_resolve"),
    path("escalations/plans/", views.plan_list, name="plans"),
    path("escalations/plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("escalations/plans/<int:pk>/file/", views.plan_submit_view, name="plan_submit"),
    path("escalations/plans/<int:pk>/accept/", views.plan_accept_view, name="plan_accept"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("inbox/read-all/", views.notifications_read_all, name="notifications_read_all"),
]
