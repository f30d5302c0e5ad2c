"""The API reference in ``docs/api.md``, rendered from the OpenAPI description.

The running app's ``/api/v1/openapi.json`` is the truth; ``docs/api.md`` keeps
hand-written chapters (conventions, examples) and one generated chapter between
two markers.  ``tools/api_docs.py`` rewrites that chapter; a test fails when it
is stale, so the document in the repository always says what the app serves.
"""

from __future__ import annotations

from typing import Any

BEGIN = "<!-- BEGIN GENERATED: operations (tools/api_docs.py) -->"
END = "<!-- END GENERATED: operations -->"


def render_operations(spec: dict[str, Any]) -> str:
    """One section per path, one entry per method: summary, parameters, body, answers."""
    out: list[str] = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            out += [f"### `{method.upper()} {path}`", "", op.get("summary", "").strip(), ""]
            if op.get("security") == []:
                out.append("- 无需登录")
            params = op.get("parameters") or []
            if params:
                out.append("- 参数：" + "；".join(_param(p) for p in params))
            body = op.get("requestBody")
            if body:
                out.append("- 请求体：" + "；".join(_body(media, c.get("schema", {}))
                                                   for media, c in body["content"].items()))
            answers = []
            for status, answer in op["responses"].items():
                media = ", ".join(answer.get("content", {})) or "—"
                answers.append(f"{status} {answer.get('description', '')}（{media}）")
            out += ["- 应答：" + "；".join(answers), ""]
    out += ["## 数据结构（components/schemas）", ""]
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        out.append(f"- `{name}`：{_shape(schema)}")
    return "\n".join(out).rstrip() + "\n"


def _shape(schema: dict[str, Any]) -> str:
    title = schema.get("title") or schema.get("description") or ""
    props = schema.get("properties") or {}
    if not props and "anyOf" in schema:
        return f"{title}（按版块取其一：{len(schema['anyOf'])} 种）".lstrip("（")
    fields = ", ".join(f"`{n}`" for n in props)
    return "；".join(x for x in (title.strip().splitlines()[0] if title.strip() else "", fields) if x) or "对象"


def _param(p: dict[str, Any]) -> str:
    schema = p.get("schema", {})
    kind = schema.get("type", "")
    enum = schema.get("enum")
    detail = f"{kind}，可选 {'/'.join(map(str, enum))}" if enum else kind
    need = "必填" if p.get("required") else "可选"
    return f"`{p['name']}`（{p.get('in', '')}，{detail}，{need}）"


def _body(media: str, schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"{media}，结构 `{schema['$ref'].rsplit('/', 1)[-1]}`"
    props = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    if not props:
        return media
    fields = ", ".join(f"`{name}`{'*' if name in required else ''}" for name in props)
    return f"{media}，字段 {fields}（* 必填）"


def replace_generated(document: str, generated: str) -> str:
    """``document`` with the text between the markers replaced by ``generated``."""
    head, sep, rest = document.partition(BEGIN)
    if not sep or END not in rest:
        raise ValueError(f"docs/api.md must hold the markers {BEGIN!r} … {END!r}")
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\n{generated}\n{END}{tail}"
