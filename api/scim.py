"""SCIM 2.0 (RFC 7643, RFC 7644) as the identity provider speaks it: reading its requests
and writing Tide's people and groups as its resources. No database here: the routes call the
use cases (``approvals.provisioning``, ``wallet.provisioning``).

Every refusal is a ``ScimError`` answered in SCIM's own error format (RFC 7644 §3.12,
``application/scim+json``): unknown attributes, a schema URI Tide does not serve, a filter it
cannot read, a PATCH path it does not know. What Tide does not keep but the core User schema
defines (``name``, ``title``, ``phoneNumbers``…) is accepted and ignored, as Entra ID sends
it; anything outside the schemas is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wallet.models import Person
from wallet.provisioning import GroupRole, PersonDetails

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

#: The core User schema's attributes (RFC 7643 §4.1), lower-cased: SCIM's names are case-insensitive.
USER_ATTRIBUTES = frozenset(
    name.lower()
    for name in (
        "schemas", "id", "externalId", "meta", "userName", "name", "displayName", "nickName", "profileUrl", "title",
        "userType", "preferredLanguage", "locale", "timezone", "active", "password", "emails", "phoneNumbers", "ims",
        "photos", "addresses", "groups", "entitlements", "roles", "x509Certificates", ENTERPRISE,
    )
)  # fmt: skip
GROUP_ATTRIBUTES = frozenset(("schemas", "id", "externalid", "meta", "displayname", "members"))
FILTER = re.compile(r'^\s*([A-Za-z][\w.]*)\s+(eq)\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
MAX_PAGE = 200


class ScimError(Exception):
    """A SCIM request Tide refuses, with its HTTP status and SCIM's ``scimType``."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ScimError(400, "the request body must be a JSON object", "invalidSyntax")
    return body


def _schemas(body: dict[str, Any], *, main: str, allowed: frozenset[str]) -> None:
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise ScimError(400, "the body must list its schemas", "invalidSyntax")
    if main not in schemas:
        raise ScimError(400, f"the body's schemas must include {main}", "invalidValue")
    unknown = [s for s in schemas if s not in allowed]
    if unknown:
        raise ScimError(400, f"unknown schema URI {unknown[0]!r}", "invalidValue")


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 254:
        raise ScimError(400, f"{what} must be a string of at most 254 characters", "invalidValue")
    return value


def _flag(value: Any) -> bool:
    """SCIM's boolean; Entra ID sends ``"False"`` as a string in PATCH, so that is read too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, "active must be true or false", "invalidValue")


def _work_email(emails: Any) -> str | None:
    if emails is None:
        return None
    if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
        raise ScimError(400, "emails must be a list of objects", "invalidValue")
    chosen = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    return _text(chosen.get("value"), "an email's value") if chosen else None


@dataclass(frozen=True, slots=True)
class UserRequest:
    details: PersonDetails
    active: bool | None


def read_user(body: Any) -> UserRequest:
    """A User resource sent to create (POST) or replace (PUT) a person."""
    body = _object(body)
    _schemas(body, main=USER, allowed=frozenset((USER, ENTERPRISE)))
    unknown = [key for key in body if key.lower() not in USER_ATTRIBUTES]
    if unknown:
        raise ScimError(400, f"unknown attribute {unknown[0]!r}", "invalidSyntax")
    fields = {key.lower(): value for key, value in body.items()}
    user_name = _text(fields.get("username"), "userName")
    if not user_name:
        raise ScimError(400, "userName is required", "invalidValue")
    details = PersonDetails(
        email=user_name if "@" in user_name else _work_email(fields.get("emails")) or user_name,
        display_name=_text(fields.get("displayname"), "displayName"),
        external_id=_text(fields.get("externalid"), "externalId"),
    )
    active = _flag(fields["active"]) if "active" in fields else None
    return UserRequest(details=details, active=active)


#: PATCH paths Tide applies, and those of the core schema it accepts and ignores.
USER_PATHS = {"active", "username", "displayname", "externalid", 'emails[type eq "work"].value'}
IGNORED_PREFIXES = ("name.", "title", "phonenumbers", "addresses", "preferredlanguage", "locale", "timezone",
                    "nickname", "usertype", "profileurl", ENTERPRISE.lower())  # fmt: skip


def _patch_value(fields: dict[str, Any], path: str, value: Any) -> None:
    lowered = path.lower()
    if lowered in USER_PATHS:
        fields[lowered] = value
    elif not lowered.startswith(IGNORED_PREFIXES):
        raise ScimError(400, f"Tide does not know the path {path!r}", "invalidPath")


def read_user_patch(body: Any) -> UserRequest:
    """A PatchOp on a User: ``replace`` and ``add`` of the attributes Tide keeps (with or
    without a path), ``remove`` only of what it ignores."""
    fields: dict[str, Any] = {}
    for op, path, value in _operations(body):
        if op == "remove":
            _patch_value({}, path or "", None)
            continue
        if path:
            _patch_value(fields, path, value)
        elif isinstance(value, dict):
            for key, inner in value.items():
                if key.lower() not in USER_ATTRIBUTES:
                    raise ScimError(400, f"unknown attribute {key!r}", "invalidSyntax")
                if key.lower() in USER_PATHS:
                    fields[key.lower()] = inner
        else:
            raise ScimError(400, "an operation without a path needs an object value", "invalidValue")
    email = fields.get("username") or fields.get('emails[type eq "work"].value')
    details = PersonDetails(
        email=_text(email, "userName"),
        display_name=_text(fields.get("displayname"), "displayName"),
        external_id=_text(fields.get("externalid"), "externalId"),
    )
    return UserRequest(details=details, active=_flag(fields["active"]) if "active" in fields else None)


def _operations(body: Any) -> list[tuple[str, str | None, Any]]:
    body = _object(body)
    _schemas(body, main=PATCH_OP, allowed=frozenset((PATCH_OP,)))
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "a PatchOp lists its Operations", "invalidSyntax")
    found = []
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, "each operation is an object", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"unknown operation {operation.get('op')!r}", "invalidSyntax")
        path = operation.get("path")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, "a path is a string", "invalidPath")
        found.append((op, path, operation.get("value")))
    return found


def read_filter(text: str | None, *, attributes: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``attribute eq "value"`` (the one form identity providers send), or ``invalidFilter``."""
    if text is None or not text.strip():
        return None, None
    found = FILTER.match(text)
    if found is None:
        raise ScimError(400, 'Tide reads filters of the form attribute eq "value"', "invalidFilter")
    name = next((a for a in attributes if a.lower() == found.group(1).lower()), None)
    if name is None:
        raise ScimError(400, f"Tide cannot filter on {found.group(1)!r}", "invalidFilter")
    return name, found.group(3).replace('\\"', '"').replace("\\\\", "\\")


def page_of(start_index: int | None, count: int | None) -> tuple[int, int]:
    return max(start_index or 1, 1), min(max(count if count is not None else 100, 0), MAX_PAGE)


def user_resource(person: Person, base: str) -> dict[str, Any]:
    """A person as SCIM's User: what the identity provider reads back (no password, no history)."""
    return {
        "schemas": [USER],
        "id": str(person.id),
        "externalId": person.external_id,
        "userName": person.email,
        "displayName": person.display_name,
        "active": person.active,
        "emails": [{"value": person.email, "type": "work", "primary": True}],
        "meta": {
            "resourceType": "User",
            "created": person.created_at.isoformat(),
            "location": f"{base}/scim/v2/Users/{person.id}",
        },
    }


def group_resource(mapping: GroupRole, members: list[Person], base: str) -> dict[str, Any]:
    return {
        "schemas": [GROUP],
        "id": mapping.group,
        "displayName": mapping.group,
        "members": [{"value": str(p.id), "display": p.display_name} for p in members],
        "meta": {"resourceType": "Group", "location": f"{base}/scim/v2/Groups/{mapping.group}"},
    }


def list_response(resources: list[dict[str, Any]], *, total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": [LIST],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def read_group_patch(body: Any) -> tuple[list[int], list[int]]:
    """Members added and removed by a PatchOp on a Group (by their SCIM ids)."""
    add: list[int] = []
    remove: list[int] = []
    for op, path, value in _operations(body):
        lowered = (path or "").lower()
        if lowered.startswith("members[value eq "):
            found = re.fullmatch(r'members\[value eq "(\d+)"\]', lowered)
            if found is None or op != "remove":
                raise ScimError(400, f"Tide does not know the path {path!r}", "invalidPath")
            remove.append(int(found.group(1)))
        elif lowered in ("members", ""):
            members = value["members"] if lowered == "" and isinstance(value, dict) and "members" in value else value
            ids = _member_ids(members)
            (remove if op == "remove" else add).extend(ids)
        elif lowered not in ("displayname", "externalid"):
            raise ScimError(400, f"Tide does not know the path {path!r}", "invalidPath")
    return add, remove


def _member_ids(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise ScimError(400, "members are a list of objects with a value", "invalidValue")
    ids = [str(m.get("value", "")) for m in value]
    if not all(i.isdigit() for i in ids):
        raise ScimError(400, "a member's value is a user's id", "invalidValue")
    return [int(i) for i in ids]


def read_group(body: Any) -> str:
    """A Group resource sent to create a group: its displayName (it must be a mapped group)."""
    body = _object(body)
    _schemas(body, main=GROUP, allowed=frozenset((GROUP,)))
    unknown = [key for key in body if key.lower() not in GROUP_ATTRIBUTES]
    if unknown:
        raise ScimError(400, f"unknown attribute {unknown[0]!r}", "invalidSyntax")
    name = next((v for k, v in body.items() if k.lower() == "displayname"), None)
    if not isinstance(name, str) or not name:
        raise ScimError(400, "displayName is required", "invalidValue")
    return name
