from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Client',
            fields=[
                ('sid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=34)),
                ('account_sid', fields.CharField(max_length=34)),
                ('date_created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('date_updated', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('friendly_name', fields.CharField(max_length=64)),
                ('login', fields.CharField(unique=True, max_length=64)),
                ('password_ha1', fields.CharField(max_length=32)),
                ('status', fields.CharField(default='1', max_length=1)),
                ('voice_url', fields.CharField(null=True, max_length=2048)),
                ('voice_method', fields.CharField(default='POST', max_length=8)),
                ('voice_fallback_url', fields.CharField(null=True, max_length=2048)),
                ('voice_fallback_method', fields.CharField(default='POST', max_length=8)),
            ],
            options={'table': 'clients', 'app': 'models', 'indexes': [Index(fields=['account_sid', 'date_created', 'sid'], name='clients_account_page')], 'pk_attr': 'sid'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IncomingPhoneNumber',
            fields=[
                ('sid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=34)),
                ('account_sid', fields.CharField(max_length=34)),
                ('date_created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('date_updated', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('friendly_name', fields.CharField(max_length=64)),
                ('phone_number', fields.CharField(unique=True, max_length=32)),
                ('voice_url', fields.CharField(null=True, max_length=2048)),
                ('voice_method', fields.CharField(default='POST', max_length=8)),
                ('voice_fallback_url', fields.CharField(null=True, max_length=2048)),
                ('voice_fallback_method', fields.CharField(default='POST', max_length=8)),
                ('status_callback', fields.CharField(null=True, max_length=2048)),
                ('status_callback_method', fields.CharField(default='POST', max_length=8)),
            ],
            options={'table': 'incoming_phone_numbers', 'app': 'models', 'indexes': [Index(fields=['account_sid', 'date_created', 'sid'], name='numbers_account_page')], 'pk_attr': 'sid'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Registration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_sid', fields.CharField(max_length=34)),
                ('login', fields.CharField(max_length=64)),
                ('contact_uri', fields.CharField(max_length=1024)),
                ('source_host', fields.CharField(max_length=64)),
                ('source_port', fields.IntField()),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('user_agent', fields.CharField(default='', max_length=256)),
                ('date_created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('date_updated', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registrations', 'app': 'models', 'unique_together': (('login', 'contact_uri'),), 'indexes': [Index(fields=['login', 'expires_at'], name='registrations_login')], 'pk_attr': 'id', 'table_description': 'One registered contact of a client (a client may register several devices).'},
            bases=['Model'],
        ),
    ]
