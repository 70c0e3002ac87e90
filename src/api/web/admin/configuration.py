"""Configuration: the four documents (waiver policy, credit levels, scoring rules, billing), each a form with a field
per setting (JSON for its lists), checked and saved by the command `PUT /v1/admin/config/{name}` runs (a new version,
the platform's errors next to their fields); each document's history, and a diff between two of its versions."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from starlette.responses import Response

from api.http.endpoints import admin_reports
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from leasecore.audit import replay
from leasecore.configuration import Configuration
from leasecore.errors import InvalidDocument, InvalidInput, NotFound

pages = Pages()
NAMES = ("waiver-policy", "credit-levels", "scoring-rules", "billing")
"""The documents in the order staff look for them: who gets a waiver first, the billing rules last."""
HISTORY_PER_PAGE = 20
MAX_ROWS = 50
WHOLE_NUMBER = re.compile(r"^-?\d{1,12}$")

WORDS: dict[str, tuple[str, str]] = {
    "config.title": ("配置", "Configuration"),
    "config.intro": (
        "每次保存都会生成新版本；已下的订单沿用下单时的版本。",
        "Every save makes a new version; orders keep the version they were quoted under.",
    ),
    "config.doc.waiver-policy": ("免押政策", "Waiver policy"),
    "config.doc.credit-levels": ("信用等级与额度", "Credit levels"),
    "config.doc.scoring-rules": ("评分规则", "Scoring rules"),
    "config.doc.billing": ("账单与催收", "Billing and collections"),
    "config.col.document": ("配置文件", "Document"),
    "config.col.version": ("版本", "Version"),
    "config.col.changed_at": ("修改时间", "Changed"),
    "config.col.changed_by": ("修改人", "By"),
    "config.not_set": ("尚未配置", "Not configured yet"),
    "config.version": ("当前版本 {version}", "Version {version} in force"),
    "config.edit": ("编辑", "Edit"),
    "config.readonly": (
        "只有管理员可以修改配置；你可以查看当前版本、历史和差异。",
        "Only an admin may change it; you may read the version in force, its history and the diffs.",
    ),
    "config.save": ("保存为新版本", "Save as a new version"),
    "config.json_hint": ("JSON 格式", "JSON"),
    "config.table_hint": (
        "清空一行即删除该行；在最后的空行填写即新增一行。",
        "Empty a row to remove it; fill in the empty last row to add one.",
    ),
    "config.cell": ("{table} 第 {row} 行 {column}", "{table}, row {row}, {column}"),
    "config.column.min_score": ("最低分", "Min score"),
    "config.column.max_score": ("最高分", "Max score"),
    "config.column.waiver": ("免押金额", "Waiver"),
    "config.column.share": ("免押比例（0–1）", "Share (0–1)"),
    "config.column.name": ("等级", "Level"),
    "config.column.quota": ("额度", "Quota"),
    "config.column.after_days": ("逾期天数", "Days overdue"),
    "config.column.action": ("动作（sms/call/agency）", "Action (sms/call/agency)"),
    "config.invalid_json": ("不是有效的 JSON：{error}", "Not valid JSON: {error}"),
    "config.errors": ("未保存：请修改标出的设置", "Not saved: correct the settings marked"),
    "config.stale": (
        "你打开后此配置已被修改（现为版本 {version}）；请查看差异后重新编辑。",
        "It changed since you opened it (now version {version}); read the diff and edit again.",
    ),
    "config.history": ("版本历史", "History"),
    "config.history_pages": ("历史分页", "History pages"),
    "config.compare_previous": ("与上一版本比较", "Compare with the one before"),
    "config.diff": ("版本差异", "Differences"),
    "config.diff_from": ("旧版本", "From version"),
    "config.diff_to": ("新版本", "To version"),
    "config.diff_submit": ("比较", "Compare"),
    "config.diff_same": ("两个版本内容相同", "The two versions are the same"),
    "config.diff_none": ("只有一个版本，没有可比较的差异", "Only one version: nothing to compare"),
    "config.diff_caption": ("版本 {old} → 版本 {new}", "Version {old} → version {new}"),
    "config.diff_old_line": ("旧行号", "Old line"),
    "config.diff_new_line": ("新行号", "New line"),
    "config.diff_change": ("变化", "Change"),
    "config.diff_text": ("内容", "Text"),
    "config.diff_added": ("＋ 新增", "+ added"),
    "config.diff_removed": ("－ 删除", "− removed"),
    "config.diff_hunk": ("…", "…"),
    "config.no_version": ("没有版本 {version}", "There is no version {version}"),
    "config.f.min_score": ("最低免押分数", "Minimum score for a waiver"),
    "config.f.bands": ("分数段与免押金额", "Score bands and their waivers"),
    "config.f.per_order_cap": ("每单免押上限", "Waiver cap per order"),
    "config.f.per_unit_cap": ("每台设备免押上限", "Waiver cap per unit"),
    "config.f.levels": ("信用等级（分数段与额度）", "Levels (score bands and quotas)"),
    "config.f.source": ("评分来源（bureau 或 rules）", "Score source (bureau or rules)"),
    "config.f.range": ("分数范围", "Score range"),
    "config.f.dimensions": ("评分维度", "Dimensions"),
    "config.f.rules": ("规则", "Rules"),
    "config.f.timezone": ("账单时区", "Billing timezone"),
    "config.f.grace_days": ("宽限天数", "Grace days"),
    "config.f.late_fee.daily_rate": ("滞纳金日费率", "Late fee: daily rate"),
    "config.f.late_fee.fixed_per_day": ("滞纳金每日固定金额", "Late fee: fixed per day"),
    "config.f.late_fee.cap_share": ("滞纳金上限（占期款比例）", "Late fee: cap (share of the installment)"),
    "config.f.collection_stages": ("催收阶段（逾期天数与动作）", "Collection stages (days overdue and action)"),
    "config.f.unpaid_timeout_minutes": ("未支付订单超时（分钟）", "Unpaid order timeout (minutes)"),
    "config.f.early_buyout_discount_share": ("提前买断折扣比例", "Early buyout discount share"),
    "config.f.daily_job_at": ("每日任务时间（HH:MM）", "Daily job at (HH:MM)"),
    "config.f.remind_before_days": ("到期前提醒天数", "Remind days before due"),
    "flash.config_saved": ("已保存为新版本", "Saved as a new version"),
    "flash.config_unchanged": ("内容没有变化，未生成新版本", "Nothing changed; no new version"),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class Field:
    """A setting of a document as the form shows it: its name in the document (`late_fee.daily_rate`), its text, and
    how it is read back (a whole number, text, JSON for a list or an object, or a table of such fields)."""

    name: str
    label: str
    text: str
    kind: str
    error: str | None = None
    columns: tuple[str, ...] = ()
    cells: tuple[tuple[Field, ...], ...] = ()
    """A table's column headings and its rows of cells."""

    @property
    def key(self) -> str:
        """A cell's key in its row's object (`min_score` of `bands[0].min_score`)."""
        return self.name.rpartition(".")[2]

    @property
    def dom_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)

    @property
    def rows(self) -> int:
        return min(18, self.text.count("\n") + 2)


@dataclass(frozen=True)
class Version:
    version: int
    at: str
    by: str


@dataclass(frozen=True)
class DiffRow:
    """A line of the diff: `same`, `added`, `removed` or `hunk` (lines left out), with its numbers on each side."""

    change: str
    old: int | None
    new: int | None
    text: str


@dataclass(frozen=True)
class Summary:
    name: str
    version: int | None
    at: str
    by: str


@pages.get("/config", access=admin_reports.CONFIG_READERS)
def documents(page: Page) -> Response:
    """The four documents with the version in force, when and by whom it was made."""
    summaries = []
    for name in NAMES:
        history = _history(page, name)
        latest = history[0] if history else None
        summaries.append(
            Summary(name, latest.version if latest else None, latest.at if latest else "", latest.by if latest else "")
        )
    return page.render("admin/configuration.html", summaries=summaries)


@pages.get("/config/{name}", access=admin_reports.CONFIG_READERS)
def document_page(page: Page) -> Response:
    """A document as `GET /v1/admin/config/{name}` answers it, as a form; its history; a diff of two versions."""
    return _document_page(page, _name(page))


@pages.post("/config/{name}", access=admin_reports.ADMIN)
def save(page: Page) -> Response:
    """Replace the document, as `PUT /v1/admin/config/{name}` does: validated whole by the platform (each field in
    error shown next to it) and recorded as a new version under the admin's name."""
    name = _name(page)
    version, current = page.app.document(name)
    fields = _fields(page, current, page.form)
    if page.form.get("version") != str(version):
        return _document_page(page, name, 409, fields=fields, general=[page.t("config.stale", version=version)])
    document, errors = _read(page, fields)
    if not errors:
        assert page.user is not None
        try:
            saved = page.app.configure(name, document, page.user.username)
        except InvalidDocument as error:
            errors = error.errors
        except InvalidInput as error:
            errors = [(error.field, error.message)]
        else:
            page.service.written()
            done = "config_saved" if saved != version else "config_unchanged"
            return page.redirect(f"/config/{name}", done=done)
    placed, general = _place(fields, errors)
    return _document_page(page, name, 422, fields=placed, general=[page.t("config.errors"), *general])


def _name(page: Page) -> str:
    name = str(page.request.path_params["name"])
    if name not in NAMES:
        raise NotFound("configuration", name)
    return name


def _document_page(
    page: Page, name: str, status: int = 200, *, fields: list[Field] | None = None, general: list[str] | None = None
) -> Response:
    try:
        version, current = page.app.document(name)
    except NotFound:
        version, current = 0, {}
    history = _history(page, name)
    number = _number(page.query.get("history"))
    pages_count = max(1, -(-len(history) // HISTORY_PER_PAGE))
    number = min(number, pages_count)
    shown = history[(number - 1) * HISTORY_PER_PAGE : number * HISTORY_PER_PAGE]
    diff = _diff(page, name, version)
    return page.render(
        "admin/config_document.html",
        status,
        name=name,
        version=version,
        fields=fields if fields is not None else _fields(page, current, None),
        general=general or [],
        editable=page.may(admin_reports.ADMIN) and version > 0,
        history=shown,
        history_page=number,
        history_pages=pages_count,
        **diff,
    )


def _history(page: Page, name: str) -> list[Version]:
    """Every version, newest first, with when and by whom (the audit's replay of the document's events)."""
    try:
        found = replay(page.app, Configuration.create_id(name))
    except NotFound:
        return []
    return [
        Version(event.version, page.time(event.timestamp), str(event.fields.get("changed_by", "")))
        for event in reversed(found.events)
    ]


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 100_000 else 1


# The form.


def _fields(page: Page, document: dict[str, Any], form: Mapping[str, str] | None) -> list[Field]:
    """A field per setting: whole numbers and text as inputs, an object of them as one input each, a list of such
    objects as a table (a row each, and an empty one to add), any other list or object as JSON; showing what was
    posted when `form` is given."""
    fields = []
    for key, value in document.items():
        if isinstance(value, dict) and value and all(_simple(item) for item in value.values()):
            fields += [_field(page, f"{key}.{sub}", item, form) for sub, item in value.items()]
        elif _tabular(value):
            fields.append(_table(page, key, value, form))
        else:
            fields.append(_field(page, key, value, form))
    return fields


def _simple(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _tabular(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(row, dict) and all(_simple(item) or item is None for item in row.values()) for row in value)
    )


def _label(page: Page, name: str) -> str:
    return page.t(f"config.f.{name}") if i18n.known(f"config.f.{name}") else name


def _field(page: Page, name: str, value: Any, form: Mapping[str, str] | None) -> Field:
    if isinstance(value, int) and not isinstance(value, bool):
        kind, text = "int", str(value)
    elif isinstance(value, str):
        kind, text = "text", value
    else:
        kind, text = "json", json.dumps(value, indent=2, ensure_ascii=False)
    if form is not None:
        text = str(form.get(name, ""))
    return Field(name, _label(page, name), text, kind)


def _table(page: Page, name: str, rows: list[dict[str, Any]], form: Mapping[str, str] | None) -> Field:
    """A list of objects as rows of cells named `bands[0].min_score`, as the platform names them in its errors; the
    rows posted (an emptied row is left out) or the document's, then an empty row to add one."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    kinds = {key: "int" if any(_whole(row.get(key)) for row in rows) else "text" for key in columns}
    if form is None:
        texts = [["" if row.get(key) is None else str(row.get(key)) for key in columns] for row in rows]
    else:
        texts = []
        for index in range(MAX_ROWS):
            names = [f"{name}[{index}].{key}" for key in columns]
            if not any(cell in form for cell in names):
                break
            texts.append([str(form.get(cell, "")).strip() for cell in names])
        texts = [row for row in texts if any(row)]
    texts.append(["" for _ in columns])
    label = _label(page, name)
    cells = tuple(
        tuple(
            Field(
                f"{name}[{index}].{key}",
                page.t("config.cell", table=label, row=index + 1, column=_column(page, key)),
                text,
                kinds[key],
            )
            for key, text in zip(columns, row, strict=True)
        )
        for index, row in enumerate(texts)
    )
    return Field(name, label, "", "table", columns=tuple(_column(page, key) for key in columns), cells=cells)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _column(page: Page, key: str) -> str:
    return page.t(f"config.column.{key}") if i18n.known(f"config.column.{key}") else key


def _read(page: Page, fields: list[Field]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The document the form describes; a whole number that is not one is sent as text, for the platform to name;
    an empty cell leaves its key out (a band has a `waiver` or a `share`)."""
    document: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for field in fields:
        if field.kind == "table":
            rows = []
            for row in field.cells:
                if any(cell.text.strip() for cell in row):
                    rows.append({cell.key: _value(cell) for cell in row if cell.text.strip()})
            document[field.name] = rows
            continue
        if field.kind == "json":
            try:
                value = json.loads(field.text)
            except ValueError as error:
                errors.append((field.name, page.t("config.invalid_json", error=str(error))))
                continue
        else:
            value = _value(field)
        key, _, sub = field.name.partition(".")
        if sub:
            document.setdefault(key, {})[sub] = value
        else:
            document[key] = value
    return document, errors


def _value(field: Field) -> Any:
    text = field.text.strip()
    return int(text) if field.kind == "int" and WHOLE_NUMBER.match(text) else text


def _place(fields: list[Field], errors: list[tuple[str, str]]) -> tuple[list[Field], list[str]]:
    """Each error next to the field or cell it names; one about a row or a whole list goes above its table; the rest
    above the form."""
    names = [cell.name for field in fields for row in field.cells for cell in row] + [field.name for field in fields]
    found: dict[str, list[str]] = {}
    general = []
    for path, message in errors:
        owner = next((name for name in names if name == path), None)
        if owner is None:
            owner = next((name for name in names if path.startswith((f"{name}[", f"{name}."))), None)
        if owner is None:
            general.append(f"{path}: {message}")
            continue
        found.setdefault(owner, []).append(message if path == owner else f"{path}: {message}")

    def marked(field: Field) -> Field:
        cells = tuple(tuple(marked(cell) for cell in row) for row in field.cells)
        error = "；".join(found[field.name]) if field.name in found else None
        return replace(field, error=error, cells=cells)

    return [marked(field) for field in fields], general


# The diff.


def _diff(page: Page, name: str, version: int) -> dict[str, Any]:
    """The versions compared (`from`, `to`; the one before the current and the current by default) and their diff
    as rows; an unknown version is named next to its field."""
    query = page.query
    new = _version(query.get("to"), version)
    old = _version(query.get("from"), new - 1 if new > 1 else 1)
    errors = {}
    for key, wanted in (("from", old), ("to", new)):
        if not 1 <= wanted <= version:
            errors[key] = page.t("config.no_version", version=wanted)
    rows: list[DiffRow] = []
    if not errors and version > 1:
        rows = diff_rows(page.app.document(name, old)[1], page.app.document(name, new)[1])
    return {
        "diff_from": old,
        "diff_to": new,
        "diff_errors": errors,
        "diff_rows": rows,
        "versions": range(version, 0, -1),
    }


def _version(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and len(text) < 10 else default


def diff_rows(old: dict[str, Any], new: dict[str, Any], context: int = 3) -> list[DiffRow]:
    """The two documents as pretty JSON, line by line: what was removed, what was added, and `context` lines around
    each change (a `hunk` row stands for the lines left out)."""
    before = json.dumps(old, indent=2, ensure_ascii=False).splitlines()
    after = json.dumps(new, indent=2, ensure_ascii=False).splitlines()
    rows: list[DiffRow] = []
    for group in difflib.SequenceMatcher(None, before, after, autojunk=False).get_grouped_opcodes(context):
        rows.append(DiffRow("hunk", None, None, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [DiffRow("same", i1 + k + 1, j1 + k + 1, before[i1 + k]) for k in range(i2 - i1)]
                continue
            rows += [DiffRow("removed", k + 1, None, before[k]) for k in range(i1, i2)]
            rows += [DiffRow("added", None, k + 1, after[k]) for k in range(j1, j2)]
    return rows


screen = Screen("config", "nav.config", "/config", admin_reports.CONFIG_READERS, pages)
