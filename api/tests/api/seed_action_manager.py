# The Python client from the API documentation (seeds/004), verbatim but for BASE_URL and the
# key, which the test passes in. Its usage sequence runs as documented; the checks after each
# call are ours.
import os
import sys

import requests

BASE_URL = os.environ['ACTUATE_BASE_URL']
TENANT_ID = '12345678-1234-1234-1234-123456789012'
PROJECT_ID = '87654321-4321-4321-4321-210987654321'

class ActionManager:
    def __init__(self, api_key):
        self.headers = {
            'Authorization': f'Bearer {api_key}',
            'Content-Type': 'application/json'
        }

    def list_actions(self):
        url = f'{BASE_URL}/api/{TENANT_ID}/{PROJECT_ID}/action'
        response = requests.get(url, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def get_action(self, action_id):
        url = f'{BASE_URL}/api/{TENANT_ID}/{PROJECT_ID}/action/{action_id}'
        response = requests.get(url, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def create_action(self, name, steps, description=None, triggers=None):
        url = f'{BASE_URL}/api/{TENANT_ID}/{PROJECT_ID}/action'
        data = {
            'name': name,
            'description': description,
            'isEnabled': True,
            'steps': steps,
            'triggers': triggers or []
        }
        response = requests.post(url, json=data, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def update_action(self, action_id, **kwargs):
        url = f'{BASE_URL}/api/{TENANT_ID}/{PROJECT_ID}/action/{action_id}'
        response = requests.put(url, json=kwargs, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def delete_action(self, action_id):
        url = f'{BASE_URL}/api/{TENANT_ID}/{PROJECT_ID}/action/{action_id}'
        response = requests.delete(url, headers=self.headers)
        response.raise_for_status()

    def enable_action(self, action_id):
        url = f'{BASE_URL}/api/{TENANT_ID}/{PROJECT_ID}/action/{action_id}/enable'
        response = requests.post(url, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def disable_action(self, action_id):
        url = f'{BASE_URL}/api/{TENANT_ID}/{PROJECT_ID}/action/{action_id}/disable'
        response = requests.post(url, headers=self.headers)
        response.raise_for_status()
        return response.json()

manager = ActionManager(os.environ['ACTUATE_API_KEY'])

action = manager.create_action(
    name='Daily Report',
    description='Generate daily analysis report',
    steps=[
        {
            'stepNumber': 1,
            'stepType': 'Python',
            'description': 'Generate report',
            'settings': '{"script": "daily_report.py"}'
        }
    ],
    triggers=[
        {
            'triggerType': 'DailyScheduler',
            'frequency': 1,
            'startDate': '2024-01-15'
        }
    ]
)
print(f"created: {action['actionId']}")
assert action['name'] == 'Daily Report'
assert action['steps'][0]['settings'] == '{"script": "daily_report.py"}'
assert action['triggers'][0]['startDate'] == '2024-01-15'

assert manager.disable_action(action['actionId'])['isEnabled'] is False
assert manager.enable_action(action['actionId'])['isEnabled'] is True

updated = manager.update_action(action['actionId'], name='Updated Daily Report')
assert updated['name'] == 'Updated Daily Report'
assert updated['description'] == 'Generate daily analysis report'
assert updated['steps'] == action['steps']
assert manager.get_action(action['actionId'])['name'] == 'Updated Daily Report'
assert manager.list_actions()['totalCount'] == 1

manager.delete_action(action['actionId'])
try:
    manager.get_action(action['actionId'])
    sys.exit('the deleted action is still there')
except requests.HTTPError as e:
    assert e.response.status_code == 404
    assert e.response.json() == {'error': 'Action not found', 'actionId': action['actionId']}
assert manager.list_actions() == {'actions': [], 'totalCount': 0}
print('seed sequence ok')
