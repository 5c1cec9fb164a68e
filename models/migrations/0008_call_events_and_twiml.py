from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

# Two new tables; the calls table is not touched (0003's triggers stay).


class Migration(migrations.Migration):
    dependencies = [('models', '0007_call_muted')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CallEvent',
            fields=[
                ('sid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=34)),
                ('account_sid', fields.CharField(max_length=34)),
                ('call_sid', fields.CharField(max_length=34)),
                ('date_created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('kind', fields.CharField(max_length=24)),
                ('request_method', fields.CharField(max_length=8)),
                ('request_url', fields.TextField()),
                ('request_parameters', fields.TextField(default='{}')),
                ('response_status', fields.IntField(null=True)),
                ('response_content_type', fields.CharField(null=True, max_length=128)),
                ('response_body', fields.TextField(null=True)),
                ('duration_ms', fields.IntField(default=0)),
                ('error', fields.TextField(null=True)),
            ],
            options={'table': 'call_events', 'app': 'models', 'indexes': [Index(fields=['call_sid', 'date_created', 'sid'], name='call_events_call_page'), Index(fields=['date_created'], name='call_events_age')], 'pk_attr': 'sid'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TwimlDocument',
            fields=[
                ('sid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=34)),
                ('account_sid', fields.CharField(max_length=34)),
                ('date_created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('body', fields.TextField()),
            ],
            options={'table': 'twiml_documents', 'app': 'models', 'pk_attr': 'sid'},
            bases=['Model'],
        ),
    ]
