# The second step of the move from billing (see 0001): the tables take accounts' names, and the
# content types follow, so staff permissions on API keys and profiles and the admin's history
# of them keep pointing at the same rows.

from django.db import migrations

MODELS = ('apikey', 'profile')


def move_content_types(apps, schema_editor, *, old, new):
    content_types = apps.get_model('contenttypes', 'ContentType')
    for model in MODELS:
        # A fresh database has neither row yet (post_migrate creates them); a database that
        # already has the new one keeps it.
        if not content_types.objects.filter(app_label=new, model=model).exists():
            content_types.objects.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor):
    move_content_types(apps, schema_editor, old='billing', new='accounts')


def backwards(apps, schema_editor):
    move_content_types(apps, schema_editor, old='accounts', new='billing')


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('billing', '0007_apikey_profile_move_to_accounts'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterModelTable(name='apikey', table=None),
        migrations.AlterModelTable(name='profile', table=None),
        migrations.RunPython(forwards, backwards),
    ]
