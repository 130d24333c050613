"""Creates the "Config viewers" group: members may view configs, parameters, revisions and sync runs.

Permissions are normally created after all migrations ran (post_migrate), so on a fresh database
they do not exist yet here; ``create_permissions`` makes them first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Config viewers"
CODENAMES = (
    "view_trainingjobconfig",
    "view_configparameter",
    "view_configrevision",
    "view_syncrun",
    "view_configsource",
)


def create_group(apps, schema_editor):
    app_config = apps.get_app_config("configs_app")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(schema_editor.connection.alias).get_or_create(name=GROUP_NAME)
    permissions = Permission.objects.using(schema_editor.connection.alias).filter(
        content_type__app_label="configs_app", codename__in=CODENAMES
    )
    group.permissions.add(*permissions)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("configs_app", "0002_tablepreference"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
