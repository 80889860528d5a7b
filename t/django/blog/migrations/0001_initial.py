from django.db import migrations, models


def create_posts(apps, schema_editor):
    Post = apps.get_model("blog", "Post")
    for i in range(1, 4):
        Post.objects.create(id=i, title="Post %d" % i)


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Post",
            fields=[("id", models.AutoField(primary_key=True)),
                    ("title", models.CharField(max_length=200))],
        ),
        migrations.RunPython(create_posts),
    ]
