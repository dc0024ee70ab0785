from django.urls import path

from . import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_new, name="new"),
    path("feedback/", views.feedback, name="feedback"),
    path("assign/", views.leads_assign, name="assign"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/edit/", views.lead_edit, name="edit"),
    path("<int:pk>/touchpoint/", views.touchpoint_add, name="touchpoint"),
    path("<int:pk>/qualify/", views.lead_qualify_view, name="qualify"),
    path("<int:pk>/recycle/", views.lead_recycle_view, name="recycle"),
    path("<int:pk>/disqualify/", views.lead_disqualify_view, name="disqualify"),
]
