"""Stock and catalog: the categories, each product with its plans, protection, channels and SKUs (prices per term,
units by status), and per SKU its units with where each is and the order it is with; receiving many units by
pasting their serials (all or none), and retiring a unit with a reason. Listing a new product goes through the API
(`POST /v1/admin/products`, see /docs)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from starlette.responses import Response

import projections.catalog
import projections.stock
from api.http.endpoints import admin_catalog
from api.http.schemas.common import Serial
from api.store import api_unit_retirements, upsert
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from leasecore.catalog import Sku
from leasecore.errors import InvalidInput, InvalidState, NotFound
from projections.catalog import CategoryView, ProductView
from projections.stock import StockLevel, UnitState

pages = Pages()
MAX_SERIALS = 1000
UNIT_STATES = ("available", "booked", "leased", "returning", "inspecting", "retired", "sold")
SERIAL = TypeAdapter(Serial)

WORDS = {
    "stock.title": ("库存与商品", "Stock & catalog"),
    "stock.categories": ("品类", "Categories"),
    "stock.products": ("商品", "Products"),
    "stock.new_product": (
        "上架新商品或新增 SKU 请用接口 POST /v1/admin/products（见接口文档）。",
        "List a new product or SKU through the API, POST /v1/admin/products (see the API docs).",
    ),
    "stock.api_docs": ("接口文档", "API docs"),
    "stock.brand": ("品牌", "Brand"),
    "stock.channels": ("渠道", "Channels"),
    "stock.plans": ("方案", "Plans"),
    "stock.long_term": ("长租 {terms} 个月", "Long-term {terms} months"),
    "stock.short_term": ("短租 {min}–{max} 天", "Short-term {min}–{max} days"),
    "stock.protection": ("意外保障", "Protection"),
    "stock.protection_terms": (
        "{kind}；每月 {monthly}，每天 {daily}，免赔额 {excess}",
        "{kind}; {monthly} a month, {daily} a day, excess {excess}",
    ),
    "stock.protection_mandatory": ("必选", "Mandatory"),
    "stock.protection_optional": ("可选", "Optional"),
    "stock.protection_none": ("不提供", "Not offered"),
    "stock.col.sku": ("SKU 规格", "SKU"),
    "stock.col.market": ("市场价", "Market value"),
    "stock.col.deposit": ("押金", "Deposit"),
    "stock.col.prices": ("月租 / 到期买断价", "Monthly rent / buyout"),
    "stock.col.daily": ("日租", "Daily rent"),
    "stock.col.renewal": ("续租月租", "Renewal rent"),
    "stock.col.units": ("设备数", "Units"),
    "stock.col.available": ("可用", "Available"),
    "stock.col.leased": ("在租", "Leased"),
    "stock.col.retired": ("已停用", "Retired"),
    "stock.term_price": ("{months} 期：{rent} / {buyout}", "{months} mo: {rent} / {buyout}"),
    "stock.units_link": ("设备与入库", "Units & receiving"),
    "stock.sku_title": ("{product} · {specs}", "{product} · {specs}"),
    "stock.back": ("返回库存与商品", "Back to stock & catalog"),
    "stock.units": ("设备", "Units"),
    "stock.col.serial": ("序列号 / IMEI", "Serial / IMEI"),
    "stock.col.state": ("状态", "State"),
    "stock.col.order": ("订单", "Order"),
    "stock.col.retire_reason": ("停用原因", "Why retired"),
    "stock.no_units": ("尚无设备，请在右侧入库。", "No units yet: receive some."),
    "stock.counts": ("共 {units} 台，可用 {available} 台", "{units} units, {available} available"),
    "stock.receive": ("入库", "Receive units"),
    "stock.serials": ("序列号（每行一个，或以逗号、空格分隔）", "Serials (one a line, or comma / space separated)"),
    "stock.serials_hint": ("全部通过检查才会入库；有问题的序列号会逐个列出。", "All or none: each problem is listed."),
    "stock.receive_submit": ("入库", "Receive"),
    "stock.retire": ("停用设备", "Retire a unit"),
    "stock.retire_unit": ("设备", "Unit"),
    "stock.retire_reason": ("停用原因（必填）", "Reason (required)"),
    "stock.retire_submit": ("停用", "Retire"),
    "stock.retire_confirm": ("确认停用此设备？停用后不再出租。", "Retire this unit? It will not be rented again."),
    "stock.retire_none": ("没有可停用的空闲设备。", "No free unit to retire."),
    "unitstate.available": ("可用", "Available"),
    "unitstate.booked": ("已预留", "Booked"),
    "unitstate.leased": ("在租", "Leased"),
    "unitstate.returning": ("归还中", "Returning"),
    "unitstate.inspecting": ("待检测", "Inspecting"),
    "unitstate.retired": ("已停用", "Retired"),
    "unitstate.sold": ("已售出", "Sold"),
    "err.serials_empty": ("请至少填写一个序列号", "Give at least one serial"),
    "err.serials_many": ("一次最多入库 {max} 台", "At most {max} units at a time"),
    "err.serial_twice": ("重复填写", "given twice"),
    "err.serial_known": ("已入库", "already received"),
    "err.serial_bad": ("格式不对（字母数字开头，最长 64 位）", "not a serial (a letter or digit first, ≤ 64)"),
    "err.serials_refused": ("以下序列号未入库，整批均未入库：", "Nothing was received; fix these serials:"),
    "err.reason_required": ("请填写停用原因", "Give a reason"),
    "err.unit_required": ("请选择设备", "Pick a unit"),
    "flash.received": ("已入库。", "Units received."),
    "flash.retired": ("设备已停用。", "The unit is retired."),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class CategoryGroup:
    """A category in the tree: its place (1-based, for its anchor), depth, path of names and its own products."""

    index: int
    category: CategoryView | None
    depth: int
    path: str
    products: list[ProductView]


@pages.get("/stock", access=admin_catalog.EDITORS)
def catalog(page: Page) -> Response:
    """The catalog as the API lists it, category by category, each SKU with its stock."""
    groups = _groups(
        projections.catalog.categories(page.views),
        projections.catalog.products(page.views),
    )
    levels = {level.sku_id: level for level in projections.stock.stock(page.views, page.app.local_today())}
    return page.render(
        "admin/stock.html",
        groups=groups,
        levels=levels,
        docs=page.base.rsplit("/admin", 1)[0] + "/docs",
        channel_name=lambda channel: page.t(f"channel.{channel}") if i18n.known(f"channel.{channel}") else channel,
    )


def _groups(categories: list[CategoryView], products: list[ProductView]) -> list[CategoryGroup]:
    """Categories as a tree (parents before children, depth for indenting), each with its products."""
    children: dict[UUID | None, list[CategoryView]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    known = {category.id for category in categories}
    groups: list[CategoryGroup] = []

    def walk(parent: UUID | None, depth: int, above: str) -> None:
        for category in children.get(parent, []):
            found = [item for item in products if item.details.category_id == category.id]
            path = f"{above} › {category.name}" if above else category.name
            groups.append(CategoryGroup(len(groups) + 1, category, depth, path, found))
            walk(category.id, depth + 1, path)

    walk(None, 0, "")
    orphans = [item for item in products if item.details.category_id not in known]
    if orphans:
        groups.append(CategoryGroup(len(groups) + 1, None, 0, "—", orphans))
    return groups


# One SKU: its units, receiving and retiring.


@dataclass(frozen=True)
class UnitRow:
    serial: str
    state: str
    order_id: UUID | None
    reason: str | None


@pages.get("/stock/skus/{id}", access=admin_catalog.EDITORS)
def sku_page(page: Page) -> Response:
    """A SKU's units by serial with where each is (the units read model `GET /v1/admin/skus/{id}/units` answers)."""
    return _sku_page(page, page.path_id)


def _sku_page(
    page: Page, sku_id: UUID, status: int = 200, *, errors: dict[str, str] | None = None, refused: Sequence[str] = ()
) -> Response:
    level, product, sku = _sku(page, sku_id)
    units = projections.stock.unit_states(page.views, sku_id)
    reasons = _reasons(page, sku_id)
    rows = [UnitRow(unit.serial, unit.status, unit.order_id, reasons.get(unit.serial)) for unit in units]
    counts = _unit_states(units)
    return page.render(
        "admin/sku.html",
        status,
        product=product,
        sku=sku,
        specs=" / ".join(sku.specs.values()),
        level=level,
        rows=rows,
        counts=counts,
        states=UNIT_STATES,
        free=[unit.serial for unit in units if unit.status == "available"],
        errors=errors or {},
        refused=list(refused),
        form=page.form,
    )


def _sku(page: Page, sku_id: UUID) -> tuple[StockLevel, ProductView, Sku]:
    found = projections.stock.stock(page.views, page.app.local_today(), sku_ids=[sku_id])
    product = projections.catalog.product(page.views, found[0].product_id) if found else None
    sku = next((item for item in product.skus if item.id == sku_id), None) if product else None
    if not found or product is None or sku is None:
        raise NotFound("sku", sku_id)
    return found[0], product, sku


def _reasons(page: Page, sku_id: UUID) -> dict[str, str]:
    table = api_unit_retirements.c
    with page.service.store.read() as connection:
        rows = connection.execute(select(table.serial, table.reason).where(table.sku_id == sku_id))
        return {serial: reason for serial, reason in rows}


def parse_serials(text: str) -> list[str]:
    """Serials as pasted: one a line, or separated by commas (either width), semicolons or spaces."""
    return [item for item in re.split(r"[\s,，;；]+", text) if item]


def serial_problems(serials: list[str], known: set[str]) -> dict[str, str]:
    """Each serial that cannot be received and why (a message key): malformed, given twice, already received."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for serial in serials:
        try:
            SERIAL.validate_python(serial)
        except ValidationError:
            problems.setdefault(serial, "err.serial_bad")
        if serial in seen:
            problems.setdefault(serial, "err.serial_twice")
        if serial in known:
            problems.setdefault(serial, "err.serial_known")
        seen.add(serial)
    return problems


@pages.post("/stock/skus/{id}/receive", access=admin_catalog.EDITORS)
def receive(page: Page) -> Response:
    """Pasted serials join the SKU (`POST /v1/admin/skus/{id}/units`): all of them, or none when any is malformed,
    given twice or received before, each named."""
    sku_id = page.path_id
    serials = parse_serials(page.form.get("serials", ""))
    if not serials:
        return _sku_page(page, sku_id, 422, errors={"serials": page.t("err.serials_empty")})
    if len(serials) > MAX_SERIALS:
        return _sku_page(page, sku_id, 422, errors={"serials": page.t("err.serials_many", max=MAX_SERIALS)})
    known = {unit.serial for unit in projections.stock.unit_states(page.views, sku_id)}
    problems = serial_problems(serials, known)
    if problems:
        refused = [f"{serial}：{page.t(key)}" for serial, key in problems.items()]
        return _sku_page(page, sku_id, 422, errors={"serials": page.t("err.serials_refused")}, refused=refused)
    try:
        page.app.receive_units(sku_id, serials)
    except InvalidInput as error:
        return _sku_page(page, sku_id, 422, errors={"serials": error.message})
    page.service.written()
    return page.redirect(f"/stock/skus/{sku_id}", done="received")


@pages.post("/stock/skus/{id}/retire", access=admin_catalog.EDITORS)
def retire(page: Page) -> Response:
    """A free unit leaves the stock for good, for a reason (kept with who retired it)."""
    sku_id = page.path_id
    serial = page.form.get("serial", "").strip()
    reason = page.form.get("reason", "").strip()[:500]
    errors = {}
    if not serial:
        errors["serial"] = page.t("err.unit_required")
    if not reason:
        errors["reason"] = page.t("err.reason_required")
    if errors:
        return _sku_page(page, sku_id, 422, errors=errors)
    try:
        page.app.retire_unit(sku_id, serial)
    except (InvalidInput, InvalidState) as error:
        return _sku_page(page, sku_id, 422, errors={"serial": str(error)})
    except NotFound:
        return _sku_page(page, sku_id, 422, errors={"serial": page.t("error.not_found_detail")})
    assert page.user is not None
    row = {
        "sku_id": sku_id,
        "serial": serial,
        "reason": reason,
        "retired_by": page.user.username,
        "retired_at": page.app.clock.now(),
    }
    with page.service.store.begin() as connection:
        upsert(connection, api_unit_retirements, row, ("sku_id", "serial"))
    page.service.written()
    return page.redirect(f"/stock/skus/{sku_id}", done="retired")


def _unit_states(units: list[UnitState]) -> dict[str, int]:
    return {state: sum(1 for unit in units if unit.status == state) for state in UNIT_STATES}


screen = Screen("stock", "nav.stock", "/stock", admin_catalog.EDITORS, pages)
