# ApiKey and Profile now belong to the accounts app (accounts 0001 took them over in Django's
# state): billing forgets them here without dropping anything; the tables and rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0006_wallet_kinds_referrals_commissions'),
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='ApiKey'),
                migrations.DeleteModel(name='Profile'),
            ],
        ),
    ]
