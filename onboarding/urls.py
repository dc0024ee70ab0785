from django.urls import path

from . import views

app_name = "onboarding"

urlpatterns = [
    path("", views.member_list, name="list"),
    path("onboarding/", views.onboarding_queue, name="queue"),
    path("engagement/", views.engagement, name="engagement"),
    path("at-risk/", views.at_risk, name="at_risk"),
    path("renewals/", views.renewals, name="renewals"),
    path("flags/", views.flags, name="flags"),
    path("flags/<int:pk>/handled/", views.flag_resolve, name="flag_resolve"),
    path("assign/", views.members_assign, name="assign"),
    path("convert/<int:lead_pk>/", views.convert, name="convert"),
    path("<int:pk>/", views.member_detail, name="detail"),
    path("<int:pk>/start/", views.begin, name="start"),
    path("<int:pk>/steps/<str:step>/", views.task_done, name="task_done"),
    path("<int:pk>/engagement/", views.engagement_add, name="engagement_add"),
    path("<int:pk>/flag/", views.flag, name="flag"),
    path("<int:pk>/churn/", views.churn, name="churn"),
    path("<int:pk>/renew/", views.renew, name="renew"),
    path("<int:pk>/renewal-eligible/", views.renewal_eligible, name="renewal_eligible"),
]
