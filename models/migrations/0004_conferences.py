from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_call_counts_and_status_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Conference',
            fields=[
                ('sid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=34)),
                ('account_sid', fields.CharField(max_length=34)),
                ('friendly_name', fields.CharField(max_length=128)),
                ('status', fields.CharField(default='init', max_length=16)),
                ('date_created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('date_updated', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('owner_node', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'conferences', 'app': 'models', 'indexes': [Index(fields=['account_sid', 'date_created', 'sid'], name='conferences_account_page'), Index(fields=['account_sid', 'friendly_name', 'status'], name='conferences_account_name')], 'pk_attr': 'sid'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Participant',
            fields=[
                ('sid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=34)),
                ('conference_sid', fields.CharField(max_length=34)),
                ('account_sid', fields.CharField(max_length=34)),
                ('muted', fields.BooleanField(default=False)),
                ('start_conference_on_enter', fields.BooleanField(default=True)),
                ('end_conference_on_exit', fields.BooleanField(default=False)),
                ('date_created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('date_updated', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'participants', 'app': 'models', 'indexes': [Index(fields=['conference_sid', 'date_created', 'sid'], name='participants_page')], 'pk_attr': 'sid', 'table_description': 'A call in a conference right now: the row goes when the call leaves.'},
            bases=['Model'],
        ),
    ]
