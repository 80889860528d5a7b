from django.urls import path, re_path

from . import views

urlpatterns = [
    path("login", views.login_view),
    path("whoami", views.whoami),
    path("form", views.form),
    re_path(r"^account(?P<rest>.*)$", views.account),
]
