"""connexion's request validators, with errors a client can act on.

connexion checks parameters against openapi.yaml but words the result for a developer of the server:
query errors do not name the parameter, and pattern errors print the regular expression. These
subclasses keep connexion's checks and say which parameter is wrong and what it should be, using the
schema's `x-expected` text, with the Twilio code of that parameter where it has one.
"""

from __future__ import annotations

import re
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import TypeValidationError
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP as CONNEXION_VALIDATORS
from connexion.validators import FormDataValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match

from handlers.errors import ApiError, Code, bad_request
from restcomm.spec import exploded_members

# Parameters whose errors carry a code of their own: (when missing, when invalid).
_CODES: dict[str, tuple[Code, Code]] = {
    "To": (Code.TO_MISSING, Code.TO_INVALID),
    "From": (Code.FROM_MISSING, Code.FROM_INVALID),
    "Url": (Code.URL_INVALID, Code.URL_INVALID),
    "StatusCallback": (Code.BAD_REQUEST, Code.STATUS_CALLBACK_INVALID),
    "SendDigits": (Code.BAD_REQUEST, Code.SEND_DIGITS_INVALID),
}
_MISSING_MESSAGES = {
    "To": "No 'To' number is specified",
    "From": "No 'From' number is specified",
    "Url": "No 'Url' is specified",
}
_WRONG_TYPE = re.compile(r"expected '(?P<type>\w+)' for \w+ parameter '(?P<name>[^']+)'")
_TYPE_NAMES = {"integer": "an integer", "boolean": "true or false", "number": "a number", "string": "text"}


def missing(name: str) -> ApiError:
    code = _CODES.get(name, (Code.BAD_REQUEST, Code.BAD_REQUEST))[0]
    return bad_request(_MISSING_MESSAGES.get(name, f"Parameter '{name}' is required"), code)


def invalid(name: str, error: ValidationError) -> ApiError:
    code = _CODES.get(name, (Code.BAD_REQUEST, Code.BAD_REQUEST))[1]
    return bad_request(f"{name} {_reason(error)}", code)


def _reason(error: ValidationError) -> str:
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    rule = error.validator
    limit = error.validator_value
    if rule == "pattern":
        return f"must be {schema.get('x-expected', 'in the documented form')}"
    if rule == "enum":
        return "must be one of " + ", ".join(str(v) for v in limit if v is not None)
    if rule == "type":
        return f"must be {_TYPE_NAMES.get(str(limit), str(limit))}"
    if rule == "minimum":
        return f"must be at least {limit}"
    if rule == "maximum":
        return f"must be at most {limit}"
    if rule == "minLength":
        return "may not be empty" if limit == 1 else f"needs at least {limit} characters"
    if rule == "maxLength":
        return f"may have at most {limit} characters"
    if rule == "maxItems":
        return f"may be given at most {limit} times"
    if rule == "not":
        # A documented parameter the server refuses (twilio.yaml's Byoc...): the spec says why.
        return str(schema.get("x-refused", "is not accepted"))
    return "is invalid"


# One compiled validator per parameter schema: building a Draft4Validator costs three times what using one
# does, and the schemas are the same objects on every request. The schema is kept beside its validator so
# an id() reused by another object can never return the wrong one.
_validators: dict[int, tuple[dict, Draft4Validator]] = {}


def _validator_for(schema: dict) -> Draft4Validator:
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER))
        _validators[id(schema)] = cached
    return cached[1]


class ClearParameterValidator(ParameterValidator):
    def validate_query_parameter(self, param, request):
        members = exploded_members(param)
        if members is None:
            return super().validate_query_parameter(param, request)
        # connexion looks for the object under its own name, which is never sent: check each member key. It
        # leaves keys it does not know as lists of their values; a repeated one is refused by RequestGuard.
        for key, schema in members.items():
            values = request.query_params.get(key)
            value = values[-1] if isinstance(values, list) and values else values
            self.validate_parameter("query", value, {"name": key, "schema": schema})
        return None

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        name = param.get("name", param_name or "parameter")
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            if param.get("required"):
                raise missing(name)
            return None
        schema = param.get("schema", param)
        error = best_match(_validator_for(schema).iter_errors(value))
        if error is not None:
            raise invalid(name, error)
        return None


class ClearFormDataValidator(FormDataValidator):
    async def _parse(self, stream: Any, scope: Any) -> Any:
        try:
            return await super()._parse(stream, scope)
        except TypeValidationError as exc:
            # Raised while coercing `Timeout=ten` to an integer, before any schema check.
            match = _WRONG_TYPE.search(str(exc.detail))
            if match is None:
                raise
            name = match["name"]
            code = _CODES.get(name, (Code.BAD_REQUEST, Code.BAD_REQUEST))[1]
            raise bad_request(f"{name} must be {_TYPE_NAMES.get(match['type'], match['type'])}", code) from None

    def _validate(self, body: Any) -> dict | None:
        if not isinstance(body, dict):
            raise bad_request("The body must be form parameters (name=value&...)")
        error = best_match(self._validator.iter_errors(body))
        if error is None:
            return None
        if error.validator == "anyOf" and not error.path:
            # The update schemas require one of their parameters: anyOf of one `required` each.
            choices = [name for option in error.validator_value for name in option.get("required", [])]
            raise bad_request("Nothing to change: give " + ", ".join(choices[:-1]) + " or " + choices[-1])
        if error.validator in ("oneOf", "not") and not error.path:
            # twilio.yaml: exactly one of Url and Twiml on create, not both on update; the schema words the rule.
            raise bad_request(str(error.schema.get("x-expected", "The parameters do not fit together")),
                              Code.URL_INVALID)
        if error.validator == "required":
            # jsonschema words it "'To' is a required property"; the name is the first quoted word.
            raise missing(str(error.message).split("'")[1])
        name = str(error.path[0]) if error.path else "body"
        raise invalid(name, error)


VALIDATOR_MAP = {
    "parameter": ClearParameterValidator,
    "body": MediaTypeDict({
        **CONNEXION_VALIDATORS["body"],
        "application/x-www-form-urlencoded": ClearFormDataValidator,
    }),
}
