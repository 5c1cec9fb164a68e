"""restcomm/api_app.py: each operation's handler is wrapped once, and still gets each request's own arguments;
each document is validated once per process, and an invalid one refused every time."""

from __future__ import annotations

import copy

import pytest
from connexion.exceptions import InvalidSpecification
from connexion.spec import Specification

from restcomm import api_app
from restcomm.spec import Specs
from tests.conftest import ADMIN_SID, make_call


async def test_handlers_are_wrapped_once_and_get_each_requests_arguments(api, monkeypatch):
    wrapped: list[str] = []
    decorate = api_app._OnceDecorator.decorate

    def counting(self, function):
        wrapped.append(function.__name__)
        return decorate(self, function)

    monkeypatch.setattr(api_app._OnceDecorator, "decorate", counting)
    calls = [await make_call(to_address=f"+1555123000{i}") for i in range(3)]
    for dialect in ("/restcomm/2012-04-24", "/2010-04-01"):
        for call in calls:
            response = await api.client.get(f"{dialect}/Accounts/{ADMIN_SID}/Calls/{call.sid}.json", auth=api.auth)
            assert response.status_code == 200
            # Path parameters are the request's, not those of the request the wrapping was built for.
            assert response.json()["sid"] == call.sid
            assert response.json()["to"] == call.to_address
    # At most once per operation (an earlier test in the session may have wrapped them already).
    assert len(wrapped) == len(set(wrapped)) <= 2


def test_a_document_is_validated_once_and_an_invalid_one_is_refused_every_time(monkeypatch):
    validated: list[str] = []
    validate = api_app._validate_spec

    def counting(cls, spec):
        validated.append(spec["info"]["title"])
        return validate(cls, spec)

    monkeypatch.setattr(api_app, "_validate_spec", counting)
    monkeypatch.setattr(api_app, "_VALIDATED", set())
    document = Specs.load().specs[0].document
    for _ in range(3):
        Specification.load(copy.deepcopy(document))
    assert validated == [document["info"]["title"]]

    broken = copy.deepcopy(document)
    broken["paths"]["/Accounts.json"]["get"]["responses"] = "not a responses object"
    for _ in range(2):
        with pytest.raises(InvalidSpecification):
            Specification.load(copy.deepcopy(broken))
    assert len(validated) == 3
