# ApiKey and Profile move from billing to accounts (issue 13) without touching the database:
# this migration only tells Django's state that accounts owns the two existing tables
# (billing_apikey, billing_profile); billing 0007 forgets them; 0002 renames the tables.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('billing', '0006_wallet_kinds_referrals_commissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='ApiKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key_hash', models.CharField(max_length=64, unique=True)),
                        ('prefix', models.CharField(max_length=8, verbose_name='starts with')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                        ('last_used_at', models.DateTimeField(blank=True, null=True, verbose_name='last used')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='api_key', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'API key',
                        'verbose_name_plural': 'API keys',
                        'db_table': 'billing_apikey',
                    },
                ),
                migrations.CreateModel(
                    name='Profile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('language', models.CharField(choices=[('vi', 'Tiếng Việt'), ('en', 'English')], default='vi', max_length=8, verbose_name='language')),
                        ('notify_completed', models.BooleanField(default=False, verbose_name='e-mail when an order completes')),
                        ('notify_partial', models.BooleanField(default=True, verbose_name='e-mail when an order is partial')),
                        ('notify_canceled', models.BooleanField(default=True, verbose_name='e-mail when an order is canceled')),
                        ('notify_refill', models.BooleanField(default=False, verbose_name='e-mail when a refill finishes')),
                        ('notify_ticket_reply', models.BooleanField(default=True, verbose_name='e-mail when support replies to a ticket')),
                        ('terms_accepted_at', models.DateTimeField(blank=True, null=True, verbose_name='terms of service accepted')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='profile', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'profile',
                        'verbose_name_plural': 'profiles',
                        'db_table': 'billing_profile',
                    },
                ),
            ],
        ),
    ]
