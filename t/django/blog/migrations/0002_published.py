from django.db import migrations, models


def create_draft(apps, schema_editor):
    Post = apps.get_model("blog", "Post")
    Post.objects.create(id=4, title="Draft 4", published=False)


class Migration(migrations.Migration):
    dependencies = [("blog", "0001_initial")]
    operations = [
        migrations.AddField(model_name="post", name="published",
                            field=models.BooleanField(default=True)),
        migrations.RunPython(create_draft),
    ]
