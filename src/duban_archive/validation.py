"""One entry point for validating input against a colander schema.

Used by forms, the JSON API and transitions alike, so every refusal has the
same shape: a Chinese message per field, and nothing applied.
"""

from __future__ import annotations

from typing import Any

import colander

from .i18n import DEFAULT_LOCALE, invalid_as_dict


class ValidationFailed(Exception):
    def __init__(self, fields: dict[str, str], message: str = "提交的内容有误，请按提示修改") -> None:
        super().__init__(message)
        self.fields = fields
        self.message = message


def validate(schema: colander.SchemaNode, data: Any, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """Deserialize ``data``; unknown keys and invalid values are reported together."""
    if not isinstance(data, dict):
        raise ValidationFailed({"_": "请求体应为 JSON 对象"})
    known = {child.name for child in schema.children}
    errors = {k: "不允许的字段（未知字段）" for k in data if k not in known}
    tolerant = schema.clone()
    tolerant.typ = colander.Mapping(unknown="ignore")
    try:
        appstruct = tolerant.deserialize({k: v for k, v in data.items() if k in known})
    except colander.Invalid as exc:
        errors.update(invalid_as_dict(exc, locale))
        appstruct = None
    if errors:
        raise ValidationFailed(errors)
    return appstruct
