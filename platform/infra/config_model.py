"""The machinery both Pulumi projects read their stack config with: one pydantic model per project.

A project's settings are a frozen pydantic model whose fields are its config keys
(`<namespace>:<field>`, or the key named in `KEYS`). `read_config` feeds it the raw strings the
engine hands over and turns whatever is wrong into one `ConfigError` listing every problem, each
naming its key, what was given (never for a secret) and what is allowed:

- field problems come from pydantic itself: the allowed values of a `Literal` field, the range of
  an `Annotated[int, Field(ge=..., le=...)]` field, the message of a field validator;
- a key in the project's namespace that is no field is refused (a typo must not fall back to a
  default silently);
- rules across fields are methods marked `@rule`; each yields its problems. They run even when
  other fields are wrong (so one `pulumi up` shows every problem), over the fields that are valid;
  a rule that needs a field that is missing or wrong is skipped, its field's own problem is shown.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any, ClassVar, TypeVar, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import ErrorDetails, core_schema

M = TypeVar("M", bound="ConfigModel")
RuleMethod = TypeVar("RuleMethod", bound=Callable[..., Iterable[str]])
_RULE_MARK = "__config_rule__"


class ConfigError(ValueError):
    """One or more stack settings are missing or wrong; the message lists each."""

    def __init__(self, stack: str, problems: list[str], project_dir: str = ".") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        stack_file = f"{project_dir}/Pulumi.{stack}.yaml".removeprefix("./")
        super().__init__(
            f"stack '{stack}' has {len(problems)} configuration problem(s); nothing was deployed:\n"
            f"{lines}\n"
            f"Fix them in {stack_file} or with `pulumi config set --stack {stack} <key> "
            "<value>` (see platform/README.md for every setting)."
        )


class NoEcho:
    """Marks a field (`Annotated[str, NoEcho()]`) whose messages name the key but never show the
    value: a secret, or a structured value whose validator quotes the part that is wrong."""


class Secret(NoEcho):
    """Marks secret config (`pulumi config set --secret`): never echoed, encrypted in stack files,
    and absent when a stack file is read without the engine (`read_config(with_secrets=False)`)."""


def rule(method: RuleMethod) -> RuleMethod:
    """Marks a method of a config model as a rule across fields: it yields problem messages."""
    setattr(method, _RULE_MARK, True)
    return method


class ConfigModel(BaseModel):
    """Base of a project's settings: frozen, and strict about what it is given."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    # The project's config namespace (`shipyard:`), where its stack files live, where its settings
    # are documented, and the keys that are not `<namespace><field>` (e.g. `aws:region`).
    NAMESPACE: ClassVar[str]
    PROJECT_DIR: ClassVar[str] = "."
    DOCS: ClassVar[str] = "platform/README.md"
    KEYS: ClassVar[Mapping[str, str]] = {}
    # Fields that are not config keys: given by the caller (the stack's name).
    NOT_CONFIG: ClassVar[frozenset[str]] = frozenset({"stack"})

    @classmethod
    def derived_defaults(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults that depend on other settings given (the raw `data`); none unless overridden."""
        return {}

    @classmethod
    def key_of(cls, field: str) -> str:
        return cls.KEYS.get(field, cls.NAMESPACE + field)

    @classmethod
    def config_fields(cls) -> dict[str, str]:
        """Field name -> config key, for every field read from the stack's config."""
        return {name: cls.key_of(name) for name in cls.model_fields if name not in cls.NOT_CONFIG}


def read_config(
    model: type[M],
    raw: Mapping[str, str],
    stack: str,
    *,
    with_secrets: bool = True,
    encrypted: Iterable[str] = (),
) -> M:
    """The validated settings of `stack` from raw `namespace:key` strings, or a ConfigError.

    `with_secrets=False` reads a stack file outside the engine, which cannot decrypt its secrets:
    every `Secret` field is left unset (reading one raises AttributeError) and the rules that read
    one are skipped; everything else is validated exactly as for the program. `encrypted` names
    the keys whose values are encrypted there: only secrets may be.
    """
    keys = model.config_fields()
    secrets = {name for name in keys if _has_marker(model, name, Secret)}
    # An empty value is an absent one: `pulumi config set key ""` does not make a setting.
    data: dict[str, Any] = {
        name: raw[key] for name, key in keys.items() if raw.get(key) not in (None, "")
    }
    if not with_secrets:
        data = {name: value for name, value in data.items() if name not in secrets}
    data = {**model.derived_defaults(data), **data, "stack": stack}
    problems: list[str] = []
    failed: set[str] = set()
    try:
        settings = model.model_validate(data) if with_secrets else None
    except ValidationError as invalid:
        errors = invalid.errors()
        problems.extend(_describe(model, error) for error in errors)
        failed = {str(e["loc"][0]) for e in errors if e["loc"]}
        settings = None
    partial = settings is None
    if settings is None:
        settings = _valid_part(
            model, data, failed, problems, unset=set() if with_secrets else secrets
        )
    known = set(keys.values())
    problems.extend(
        f"{key} is not a known setting (misspelt?); see {model.DOCS}"
        for key in sorted(raw)
        if key.startswith(model.NAMESPACE) and key not in known
    )
    secret_keys = {keys[name] for name in secrets}
    problems.extend(
        f"{key} is encrypted in the stack file, but it is no secret: set it in plain text"
        for key in sorted(encrypted)
        if key in known and key not in secret_keys
    )
    problems.extend(_rule_problems(settings, partial=partial))
    if problems:
        raise ConfigError(stack, problems, project_dir=model.PROJECT_DIR)
    return settings


def _valid_part(
    model: type[M],
    data: Mapping[str, Any],
    failed: set[str],
    problems: list[str],
    unset: set[str],
) -> M:
    """The fields that validate on their own, unchecked as a whole: what the rules run over.

    A field that failed is left out (it takes its default, or stays unset if it has none, which
    skips the rules that read it): its own problem is already in `problems`. Fields in `unset`
    stay unset even if they have a default. A field that failed here (only possible when the
    model as a whole was not validated first) adds its problem.
    """
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name in failed:
            continue
        try:
            values[name] = _field_adapter(model, name).validate_python(value)
        except ValidationError as invalid:
            for error in invalid.errors():
                problems.append(_describe(model, {**error, "loc": (name, *error["loc"])}))
    missing = [
        name
        for name, field in model.model_fields.items()
        if field.is_required() and name not in values and name not in failed | unset
    ]
    for name in missing:
        problems.append(_describe(model, _missing(name)))
    # The pydantic mypy plugin types model_construct by the TypeVar's bound, not the TypeVar.
    settings = cast(M, model.model_construct(**values))
    for name in unset:
        settings.__dict__.pop(name, None)  # no stand-in value: reading it must fail
    return settings


def _missing(name: str) -> ErrorDetails:
    return {"type": "missing", "loc": (name,), "msg": "Field required", "input": None}


def _has_marker(model: type[ConfigModel], name: str, marker: type) -> bool:
    return any(isinstance(m, marker) for m in model.model_fields[name].metadata)


def _field_adapter(model: type[ConfigModel], name: str) -> TypeAdapter[Any]:
    """Validates one field on its own: its type with the constraints and validators on it."""
    return TypeAdapter(model.model_fields[name].rebuild_annotation())


def _rule_problems(settings: ConfigModel, *, partial: bool) -> Iterator[str]:
    """Every rule's problems. Over `partial` settings (some fields unset), a rule that reads an
    unset field is skipped; over complete ones an AttributeError is a bug and propagates."""
    for name, member in vars(type(settings)).items():
        if not getattr(member, _RULE_MARK, False):
            continue
        try:
            yield from getattr(settings, name)()
        except AttributeError:
            if not partial:
                raise
            # reads a field that is missing or wrong (its own problem is shown) or not read here


def _describe(model: type[ConfigModel], error: ErrorDetails) -> str:
    """One pydantic error as the key, what was given and what is allowed."""
    name = str(error["loc"][0]) if error["loc"] else ""
    field = model.model_fields.get(name)
    key = model.key_of(name) if field else name
    given = error["input"]
    kind = error["type"]
    if field is None:
        return f"{key}: {error['msg']}"
    if kind == "missing":
        return f"{key} is required: {field.description or 'see ' + model.DOCS}"
    if len(error["loc"]) > 1:  # one item of a list setting
        return f"{key}: {given!r} {_reason(error)}"
    if _has_marker(model, name, NoEcho):
        return f"{key} {_reason(error)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(field.metadata)
        return f"{key}={given} is out of range; allowed: {low}..{high}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        low, high = _bounds(field.metadata)
        return f"{key}={given!r} is not a whole number; use {low}..{high}"
    if kind == "literal_error":
        allowed = ", ".join(str(v) for v in _literal_values(field.annotation))
        return f"{key}={given!r} is not allowed; use one of: {allowed}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{key}={given!r} is not a boolean; use true or false"
    return f"{key}={given!r} {_reason(error)}"


def _reason(error: ErrorDetails) -> str:
    """A validator's own message (without pydantic's "Value error, " prefix)."""
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _bounds(metadata: Iterable[Any]) -> tuple[Any, Any]:
    low = next((m.ge for m in metadata if getattr(m, "ge", None) is not None), "")
    high = next((m.le for m in metadata if getattr(m, "le", None) is not None), "")
    return low, high


def _literal_values(annotation: Any) -> tuple[Any, ...]:
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
    return ()


# --- value forms shared by both projects' models -------------------------------------------------


def config_bool(value: Any) -> Any:
    """Only `true`/`false` (any case): YAML's and pydantic's `yes`/`on`/`1` are typos here."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ValueError("is not a boolean; use true or false")
    return value


def config_list(value: Any) -> Any:
    """A list setting: a YAML list in the stack file (the engine hands it over as JSON), or one
    comma-separated string from `pulumi config set`; blanks dropped, items stripped."""
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not a valid list ({error})") from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("must be a list of strings")
    else:
        items = value.split(",")
    return tuple(i.strip() for i in items if i.strip())


def no_repeats(items: tuple[Any, ...]) -> tuple[Any, ...]:
    repeated = sorted({str(i) for i in items if items.count(i) > 1})
    if repeated:
        raise ValueError(f"lists {', '.join(repeated)} more than once")
    return items


Flag = Annotated[bool, BeforeValidator(config_bool)]


def matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"is not {what}")
        return value

    return AfterValidator(check)


def Range(low: int, high: int) -> Any:  # noqa: N802 - reads as a type in annotations
    """A whole number from `low` to `high`."""
    return Field(ge=low, le=high)


class ListSetting(NoEcho):
    """Marks a list setting (`Annotated[tuple[Item, ...], ListSetting()]`): given as a YAML list
    or a comma-separated string (config_list), each item checked by its own type, no repeats.
    A problem with one item quotes that item."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        items = core_schema.no_info_after_validator_function(no_repeats, handler(source))
        return core_schema.no_info_before_validator_function(config_list, items)


def raw_config_from_pulumi(model: type[ConfigModel]) -> dict[str, str]:
    """The running program's config as `namespace:key` strings, through Pulumi's public API.

    Each key the model knows is read with `pulumi.Config(<namespace>).get(<key>)` (objects and
    lists come back as JSON text, which the models parse). Other keys of the project's namespace
    are listed from `pulumi.runtime.get_config_env()`, the config bag the engine hands a program,
    so that a misspelt key is refused rather than ignored.
    """
    import pulumi
    import pulumi.runtime

    raw: dict[str, str] = {}
    for key in model.config_fields().values():
        namespace, name = key.split(":", 1)
        value = pulumi.Config(namespace).get(name)
        if value is not None:
            raw[key] = value
    for key, value in pulumi.runtime.get_config_env().items():
        if key.startswith(model.NAMESPACE) and key not in raw:
            raw[key] = value if isinstance(value, str) else json.dumps(value)
    return raw


def stack_file_values(config: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """A stack file's `config:` mapping as the engine hands it to a program (text; lists and
    objects as JSON), and the keys whose values are encrypted (`{secure: ...}`), left out: only
    the engine can decrypt them."""
    raw: dict[str, str] = {}
    encrypted: set[str] = set()
    for key, value in config.items():
        if isinstance(value, dict) and "secure" in value:
            encrypted.add(key)
        elif isinstance(value, str):
            raw[key] = value
        elif isinstance(value, bool):
            raw[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            raw[key] = str(value)
        else:
            raw[key] = json.dumps(value)
    return raw, encrypted
