"""The contract of twilio.yaml (the Twilio dialect), checked by schemathesis against the same app and
databases as openapi.yaml's (harness.py): every operation through the examples, coverage and fuzzing phases,
and scenarios that follow its links from a created call."""

from __future__ import annotations

from typing import Any

import schemathesis
from harness import ADMIN_SID, ADMIN_TOKEN, APP, FUZZING_MAX_EXAMPLES, STATEFUL_MAX_STEPS, TALLY, Run
from schemathesis.config._operations import OperationConfig
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

# Inline TwiML must parse to run; random text of the schema's length cannot, and the API answers it 400
# (documented). A generated one is replaced by a real document, as test data for a valid request.
VALID_TWIML = "<Response><Pause length=\"1\"/><Hangup/></Response>"

TWILIO = schemathesis.openapi.from_asgi("/2010-04-01/openapi.json", APP)
TWILIO.config.update(basic_auth=(ADMIN_SID, ADMIN_TOKEN), parameters={"AccountSid": ADMIN_SID})
TWILIO.config.generation.update(max_examples=FUZZING_MAX_EXAMPLES)
TWILIO.config.phases.stateful.generation.update(max_examples=30)
TWILIO.config.phases.stateful.max_steps = STATEFUL_MAX_STEPS
TWILIO.config.phases.stateful.inference.algorithms = []
# Twilio answers 400 (code 21220), not 409, when a call is not in a state that allows the update: valid data on
# an ended call. Only that item path (its filters match by path) may answer 400 to valid data; the others keep
# the default check.
TWILIO.config.operations.operations.append(OperationConfig.from_dict({
    "include-method": "POST", "include-path": "/Accounts/{AccountSid}/Calls/{CallSid}.json",
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409"]}},
}))


@schemathesis.hook("before_call")
def run_real_twiml(_context: schemathesis.HookContext, case: schemathesis.Case, _kwargs: dict[str, Any]) -> None:
    """Every phase's cases (coverage ones too, which no map_* hook sees) get a document that parses.

    And the password-guessing throttle starts empty for every case: the run sends hundreds of wrong
    credentials on purpose (schemathesis' auth checks), from one address, and expects 401 each time.
    """
    APP.app.context.guesses.clear()
    if case.operation.path.startswith("/Accounts/{AccountSid}/Calls") and isinstance(case.body, dict) \
            and isinstance(case.body.get("Twiml"), str) and case.body["Twiml"]:
        case.body["Twiml"] = VALID_TWIML


@TWILIO.hook
def after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: Any) -> None:
    phase = case.meta.phase.name.value if case.meta is not None else "explicit"
    TALLY[(Run.database, phase, "twilio " + case.operation.label)][response.status_code] += 1


@TWILIO.parametrize()
def test_twilio_operation(case: schemathesis.Case, database: str) -> None:
    case.call_and_validate()


def test_twilio_stateful(database: str) -> None:
    """From a created call: fetch it, update it, list its events, delete it (409 while it is live)."""

    class Workflow(TWILIO.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            APP.reset()

        def before_call(self, case: schemathesis.Case) -> None:
            case.path_parameters = {**(case.path_parameters or {}), "AccountSid": ADMIN_SID}

        def step(self, input: StepInput) -> StepOutput | None:
            return super().step(input)

    Workflow.run()
