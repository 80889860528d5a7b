from django.urls import path, re_path

from blog import views as blog

from . import views

urlpatterns = [
    path("login", views.login_view),
    path("whoami", views.whoami),
    path("form", views.form),
    re_path(r"^account(?P<rest>.*)$", views.account),
    path("posts", blog.post_list),
    path("posts/<int:pk>", blog.post_detail),
    path("posts/<int:pk>/edit", blog.post_edit),
]
