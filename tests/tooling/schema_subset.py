"""A validator for the part of JSON Schema the course's schemas use: type, required,
properties, enum, items, minItems, minimum. Other keywords (title, description, $schema)
are ignored. Standard library only.

    errors(instance, schema) -> ["$.tests[0].status: 'ok' is not one of [...]", ...]
"""

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}

KNOWN = {"type", "required", "properties", "enum", "items", "minItems", "minimum",
         "title", "description", "$schema", "$id"}


def errors(instance, schema, where="$"):
    """Every way instance breaks schema, each as 'path: what'."""
    unknown = set(schema) - KNOWN
    if unknown:
        return [f"{where}: schema keyword(s) this validator does not know: {sorted(unknown)}"]
    found = []
    wanted = schema.get("type")
    if wanted is not None:
        names = wanted if isinstance(wanted, list) else [wanted]
        if not any(_TYPES[n](instance) for n in names):
            return [f"{where}: {instance!r:.80} is not of type {wanted}"]
    if "enum" in schema and instance not in schema["enum"]:
        found.append(f"{where}: {instance!r:.80} is not one of {schema['enum']}")
    if "minimum" in schema and _TYPES["number"](instance) and instance < schema["minimum"]:
        found.append(f"{where}: {instance} is less than {schema['minimum']}")
    if isinstance(instance, dict):
        for key in schema.get("required", []):
            if key not in instance:
                found.append(f"{where}: missing required '{key}'")
        for key, sub in schema.get("properties", {}).items():
            if key in instance:
                found += errors(instance[key], sub, f"{where}.{key}")
    if isinstance(instance, list):
        if "minItems" in schema and len(instance) < schema["minItems"]:
            found.append(f"{where}: {len(instance)} items, fewer than {schema['minItems']}")
        if "items" in schema:
            for i, item in enumerate(instance):
                found += errors(item, schema["items"], f"{where}[{i}]")
    return found
