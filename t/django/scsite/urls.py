from django.contrib.auth.views import LoginView
from django.urls import path, re_path

from blog import views as blog

from . import views

urlpatterns = [
    path("", blog.home, name="home"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("login", views.login_view),
    path("whoami", views.whoami),
    path("form", views.form),
    path("contact", views.contact),
    re_path(r"^account(?P<rest>.*)$", views.account),
    path("posts", blog.post_list),
    path("posts/<int:pk>", blog.post_detail, name="post"),
    path("posts/<int:pk>/edit", blog.post_edit),
    path("esi", blog.esi_home),
    path("fragments/hello", blog.fragment_hello, name="frag-hello"),
    path("fragments/latest", blog.fragment_latest, name="frag-latest"),
]
