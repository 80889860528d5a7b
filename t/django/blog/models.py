from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=200)
    # A draft (post 4) answers 404 until it is published.
    published = models.BooleanField(default=True)
