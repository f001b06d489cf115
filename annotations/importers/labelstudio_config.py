"""A Label Studio labeling config (XML) as judgeapp criteria, or the same inferred from results.

Each control tag becomes a criterion named by the tag's `name`; the object tags say which
`data` key each text comes from. The XML is user input: it is parsed with defusedxml (no
entities, no external references). What the mapping cannot place is a `ConfigError` naming the
tag, so an import is rejected before anything is read.

| control tag | criterion |
|---|---|
| `Choices` (single) | nominal, the `Choice` values in order |
| `Rating` | ordinal 1..`maxRating` (default 5, as in Label Studio) |
| `Number` with `min` and `max` | interval min..max |
| `Pairwise` | pairwise on a pair item: `left` -> a, `right` -> b |
| `ParagraphLabels`, or `perRegion="true"` on a `Paragraphs` | a step criterion (below) |
| `TextArea` | not a criterion: the rationale of the judgements on the same `toName` |

A region on paragraphs k..m judges steps k..m (one region per step in the usual case).
"""

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

# Step labels that mark a step wrong (a criterion's `error_labels`, for earliest-error
# analysis); Label Studio has no such notion, so it is read from the label's word.
ERROR_WORDS = frozenset({"incorrect", "wrong", "error", "invalid", "bad", "false", "mistake"})
RATING_DEFAULT_MAX = 5  # Label Studio's default maxRating
OBJECT_TAGS = frozenset({"text", "hypertext", "paragraphs", "header"})
REGION_TAGS = frozenset({"paragraphlabels"})
JUDGING_TAGS = frozenset({"choices", "rating", "number", "pairwise", *REGION_TAGS})
IGNORED_TAGS = frozenset({"view", "style", "choice", "label", "filter", "collapse"})


class ConfigError(Exception):
    """The config (or, with no config, the results) cannot be placed: names the tag."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class Control:
    """One control tag: what it judges and on which scale (`scale` "rationale" for TextArea)."""

    name: str
    tag: str  # the lower-cased tag: choices, rating, pairwise, paragraphlabels, textarea, ...
    scale: str  # nominal | ordinal | interval | pairwise | rationale
    to_names: tuple[str, ...]
    target: str = "item"  # item | step
    labels: tuple[Any, ...] = ()
    min_value: float | None = None
    max_value: float | None = None

    @property
    def error_labels(self) -> list[Any]:
        if self.target != "step":
            return []
        return [x for x in self.labels if isinstance(x, str) and x.lower() in ERROR_WORDS]


@dataclass(slots=True)
class Config:
    """The controls by name, the object tags' data keys by name, and the Paragraphs' textKey."""

    controls: dict[str, Control] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)  # object name -> data key
    object_order: list[str] = field(default_factory=list)  # data keys, in document order
    text_keys: dict[str, str] = field(default_factory=dict)  # Paragraphs name -> textKey
    inferred: bool = False

    @property
    def kind(self) -> str:
        """The item kind the criteria need: pair, solution or response."""
        scales = {c.scale for c in self.controls.values()}
        targets = {c.target for c in self.controls.values() if c.scale != "rationale"}
        if "pairwise" in scales and "step" in targets:
            raise ConfigError(
                "labeling config",
                "has both a Pairwise and step (paragraph region) controls; a judgeapp item is "
                "either a pair or a solution with steps, so import them as two projects",
            )
        if "pairwise" in scales:
            return "pair"
        return "solution" if "step" in targets else "response"

    def judging(self) -> list[Control]:
        return [c for c in self.controls.values() if c.scale != "rationale"]


def config_read(text: str) -> Config:
    """The criteria and data keys of a labeling config. ConfigError when it cannot be read
    or a control tag cannot be placed."""
    try:
        root = fromstring(text)
    except ParseError as exc:
        raise ConfigError("labeling config", f"is not well-formed XML ({exc})") from None
    except DefusedXmlException as exc:  # entities, DTDs, external references
        raise ConfigError("labeling config", f"is refused: {exc}") from None
    config = Config()
    elements = list(root.iter())
    for element in elements:
        _object(config, element)
    for element in elements:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag in OBJECT_TAGS or tag in IGNORED_TAGS:
            continue
        control = _control(config, element, tag)
        if control.name in config.controls:
            raise ConfigError(_where(element), "a second control tag with this name")
        config.controls[control.name] = control
    if not config.judging():
        raise ConfigError("labeling config", "has no control tag judgeapp can make a criterion of")
    for control in config.controls.values():
        _check_rationale(config, control)
    return config


def _where(element: Element) -> str:
    name = element.get("name")
    return f"labeling config <{element.tag}{f' name={name!r}' if name else ''}>"


def _object(config: Config, element: Element) -> None:
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    value = element.get("value", "")
    if tag not in OBJECT_TAGS or not value.startswith("$"):
        return
    key = value[1:]
    if key not in config.object_order:
        config.object_order.append(key)
    name = element.get("name")
    if name:
        config.objects[name] = key
        if tag == "paragraphs":
            config.text_keys[name] = element.get("textKey", "text")


def _control(config: Config, element: Element, tag: str) -> Control:
    where = _where(element)
    name = (element.get("name") or "").strip()
    if not name:
        raise ConfigError(where, "a control tag needs a name")
    to_names = tuple(x.strip() for x in (element.get("toName") or "").split(",") if x.strip())
    if not to_names:
        raise ConfigError(where, "has no toName")
    on_paragraphs = any(t in config.text_keys for t in to_names)
    per_region = element.get("perRegion", "").lower() == "true" or tag in REGION_TAGS
    target = "item"
    if per_region:
        if not on_paragraphs:
            raise ConfigError(
                where,
                "labels regions of something other than a Paragraphs tag; only paragraph "
                "regions (one per step) can become step judgements",
            )
        target = "step"
    base = {"name": name, "tag": tag, "to_names": to_names, "target": target}
    if tag in ("choices", *REGION_TAGS):
        inner = "choice" if tag == "choices" else "label"
        labels = tuple(c.get("value") for c in element.iter() if c.tag.lower() == inner)
        if element.get("choice", "single").lower() != "single":
            raise ConfigError(where, "allows several choices; a judgeapp criterion takes one")
        if len(labels) < 2 or len(set(labels)) < len(labels) or None in labels:
            raise ConfigError(where, f"needs at least two distinct {inner} values")
        return Control(scale="nominal", labels=labels, **base)
    if tag == "rating":
        top = _int(where, element.get("maxRating", str(RATING_DEFAULT_MAX)), "maxRating")
        if not 2 <= top <= 100:
            raise ConfigError(where, f"maxRating must be from 2 to 100, got {top}")
        return Control(scale="ordinal", labels=tuple(range(1, top + 1)), **base)
    if tag == "number":
        low, high = element.get("min"), element.get("max")
        if low is None or high is None:
            raise ConfigError(where, "a Number needs min and max to become an interval scale")
        lo, hi = _float(where, low, "min"), _float(where, high, "max")
        if not lo < hi:
            raise ConfigError(where, "min must be below max")
        return Control(scale="interval", min_value=lo, max_value=hi, **base)
    if tag == "pairwise":
        if len(to_names) != 2:
            raise ConfigError(where, "a Pairwise needs toName with exactly two names")
        return Control(scale="pairwise", **base)
    if tag == "textarea":
        return Control(scale="rationale", **base)
    raise ConfigError(where, "is a control tag judgeapp cannot place (no criterion fits it)")


def _check_rationale(config: Config, control: Control) -> None:
    if control.scale != "rationale":
        return
    if not any(set(control.to_names) & set(c.to_names) for c in config.judging()):
        raise ConfigError(
            f"labeling config <TextArea name={control.name!r}>",
            f"no criterion judges {', '.join(control.to_names)}, so its text has no "
            "judgement to be the rationale of",
        )


def _int(where: str, text: str, attribute: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(where, f"{attribute} must be a whole number, got {text!r}") from None


def _float(where: str, text: str, attribute: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(where, f"{attribute} must be a number, got {text!r}") from None
    if number != number or abs(number) > 1e9:
        raise ConfigError(where, f"{attribute} must be a number within ±1e9, got {text!r}")
    return number


# ---- with no config: the criteria the results show --------------------------------------------

RESULT_SCALES = {"choices": "nominal", "rating": "ordinal", "pairwise": "pairwise"}


def config_infer(results: list[dict]) -> Config:
    """Criteria from the results themselves (every annotation's and prediction's, in file
    order): Choices labels in the order first seen, Rating 1..max(5, highest seen), a region
    result (with paragraph `start`/`end`) a step criterion. ConfigError names what needs the
    config instead."""
    seen: dict[str, dict[str, Any]] = {}
    for result in results:
        name, kind = result.get("from_name"), str(result.get("type", "")).lower()
        value = result.get("value")
        if not isinstance(name, str) or not isinstance(value, dict):
            continue  # the task's own checks name these
        where = f"results of {name!r}"
        region = "start" in value and "end" in value
        entry = seen.setdefault(
            name, {"kind": kind, "region": region, "labels": [], "to": result.get("to_name")}
        )
        if (entry["kind"], entry["region"]) != (kind, region):
            raise ConfigError(where, "mix result types; give the labeling config (--config)")
        if kind == "textarea" or kind == "pairwise":
            continue
        if kind == "rating" and not region:
            entry["labels"].append(value.get("rating"))
            continue
        labels = value.get(kind)
        if kind in ("choices", "paragraphlabels", "labels") and isinstance(labels, list):
            entry["labels"] += [x for x in labels if x not in entry["labels"]]
            continue
        raise ConfigError(where, f"type {kind!r} cannot be inferred; give the labeling config")
    config = Config(inferred=True)
    for name, entry in seen.items():
        config.controls[name] = _inferred(name, entry)
    return config


def _inferred(name: str, entry: dict[str, Any]) -> Control:
    where = f"results of {name!r}"
    kind, to = entry["kind"], (str(entry["to"]),)
    if kind == "textarea":
        return Control(name=name, tag=kind, scale="rationale", to_names=to)
    if kind == "pairwise":
        return Control(name=name, tag=kind, scale="pairwise", to_names=to)
    target = "step" if entry["region"] else "item"
    if kind == "rating":
        ratings = [x for x in entry["labels"] if type(x) is int]
        top = max([RATING_DEFAULT_MAX, *ratings])
        if top > 100:
            raise ConfigError(where, f"a rating of {top}; give the labeling config")
        labels = tuple(range(1, top + 1))
        return Control(name=name, tag=kind, scale="ordinal", to_names=to, labels=labels)
    labels = tuple(entry["labels"])
    if len(labels) < 2:
        raise ConfigError(
            where,
            f"only the label(s) {', '.join(map(repr, labels)) or 'none'} occur, and a criterion "
            "needs two; give the labeling config (--config) to fix its labels",
        )
    return Control(name=name, tag=kind, scale="nominal", to_names=to, target=target, labels=labels)
