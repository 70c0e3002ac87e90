"""Stock and catalog: the categories, each product with its plans, protection, channels and SKUs (prices per term,
units by status), and per SKU its units with where each is and the order it is with; receiving many units by
pasting their serials (all or none), and retiring a unit with a reason; adding a category, listing a new product
with its channels, plans and protection (the body `POST /v1/admin/products` takes, checked by its schema), and a
SKU priced for every plan of its product."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from starlette.responses import Response

import projections.catalog
import projections.stock
from api.http.endpoints import admin_catalog
from api.http.errors import ApiError
from api.http.schemas import admin_catalog as schemas
from api.http.schemas.common import Serial
from api.store import api_unit_retirements, upsert
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from leasecore.catalog import LongTermOffer, ProductDetails, Protection, ShortTermOffer, Sku
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
    "stock.intro": (
        "品类、商品和 SKU 均可在此新增；接口（POST /v1/admin/…）做同样的事。",
        "Add categories, products and SKUs here; the API (POST /v1/admin/…) does the same.",
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
    "stock.add_category": ("新增品类", "Add a category"),
    "stock.category_name": ("品类名称", "Category name"),
    "stock.category_parent": ("上级品类", "Parent category"),
    "stock.category_root": ("（顶级）", "(top level)"),
    "stock.category_submit": ("新增品类", "Add the category"),
    "stock.new_sku": ("新增 SKU", "Add a SKU"),
    "stock.new_sku_title": ("为 {product} 新增 SKU", "A new SKU of {product}"),
    "stock.specs": ("规格（每行一项，如 颜色: 黑色）", "Specs (one a line, e.g. colour: black)"),
    "stock.market_value": ("市场价（元）", "Market value (¥)"),
    "stock.deposit": ("押金（元）", "Deposit (¥)"),
    "stock.rent_for": ("{months} 期月租（元）", "Monthly rent, {months} months (¥)"),
    "stock.buyout_for": ("{months} 期到期买断价（元）", "Buyout at the end of {months} months (¥)"),
    "stock.renewal_rent": ("续租月租（元）", "Renewal rent a month (¥)"),
    "stock.daily_rent": ("短租日租（元）", "Daily rent, short-term (¥)"),
    "stock.sku_submit": ("新增 SKU", "Add the SKU"),
    "stock.prices_legend": ("各期价格", "Prices per term"),
    "err.specs_line": ("「{line}」应写成 名称: 值", "“{line}” should read name: value"),
    "err.money": ("请填写金额，最多两位小数", "An amount, at most two decimals"),
    "stock.new_product": ("新建商品", "List a new product"),
    "stock.product_details": ("商品信息", "The product"),
    "stock.category": ("品类", "Category"),
    "stock.category_pick": ("请选择", "Pick one"),
    "stock.product_name": ("商品名称", "Name"),
    "stock.description": ("商品描述", "Description"),
    "stock.images": ("图片地址（每行一个）", "Image addresses (one a line)"),
    "stock.images_hint": (
        "以 https:// 开头，或以 / 开头的站内路径；第一张为封面",
        "https:// addresses or paths on this site (starting with /); the first is the cover",
    ),
    "stock.terms": ("长租期数（月，以逗号分隔）", "Long-term terms (months, comma separated)"),
    "stock.terms_hint": ("如 6, 12；不提供长租请留空", "e.g. 6, 12; leave empty for no long-term"),
    "stock.min_days": ("短租最短天数", "Short-term: fewest days"),
    "stock.max_days": ("短租最长天数", "Short-term: most days"),
    "stock.days_hint": ("不提供短租请两项都留空", "Leave both empty for no short-term"),
    "stock.protection_offered": ("提供意外保障", "Protection offered"),
    "stock.protection_mandatory_box": ("必须购买意外保障", "Protection is mandatory"),
    "stock.protection_monthly": ("保障费（元 / 月）", "Protection a month (¥)"),
    "stock.protection_daily": ("保障费（元 / 天）", "Protection a day (¥)"),
    "stock.protection_excess": ("免赔额（元，客户损坏赔付上限）", "Damage excess (¥, the most a customer pays)"),
    "stock.product_submit": ("新建商品", "List the product"),
    "stock.product_next": ("新建后为它新增 SKU、入库设备。", "Next: add its SKUs and receive their units."),
    "stock.item": ("第 {n} 项：", "item {n}: "),
    "err.category_required": ("请选择品类", "Pick a category"),
    "err.image": (
        "第 {n} 行「{line}」不是 https:// 地址或站内路径",
        "line {n}, “{line}”, is neither an https:// address nor a path on this site",
    ),
    "err.terms": ("请填写月数，以逗号分隔，如 6, 12", "Months, comma separated, e.g. 6, 12"),
    "err.days": ("请填写天数（整数）", "A whole number of days"),
    "flash.category_added": ("已新增品类。", "Category added."),
    "flash.product_listed": ("已新建商品，请为它新增 SKU。", "Product listed: add its SKUs."),
    "flash.sku_added": ("已新增 SKU，请入库设备。", "SKU added: receive its units."),
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
    return _catalog(page)


def _catalog(page: Page, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    groups = _groups(
        projections.catalog.categories(page.views),
        projections.catalog.products(page.views),
    )
    levels = {level.sku_id: level for level in projections.stock.stock(page.views, page.app.local_today())}
    return page.render(
        "admin/stock.html",
        status,
        groups=groups,
        levels=levels,
        docs=page.base.rsplit("/admin", 1)[0] + "/docs",
        errors=errors or {},
        form=page.form,
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


# Catalog editing: a category, a SKU.


@pages.post("/stock/categories", access=admin_catalog.EDITORS)
def add_category(page: Page) -> Response:
    """A new category at the root or under a live parent (`POST /v1/admin/categories`)."""
    parent = page.form.get("parent_id", "").strip()
    try:
        parent_id = UUID(parent) if parent else None
    except ValueError:
        return _catalog(page, 422, {"parent_id": page.t("error.not_found_detail")})
    try:
        body = schemas.NewCategory.model_validate({"name": page.form.get("name", "").strip(), "parent_id": parent_id})
    except ValidationError as error:
        return _catalog(page, 422, _field_errors(error))
    try:
        page.app.add_category(body.name.strip(), body.parent_id)
    except (InvalidInput, NotFound, InvalidState) as error:
        field = error.field if isinstance(error, InvalidInput) else "parent_id"
        return _catalog(page, 422, {"name" if field == "name" else "parent_id": str(getattr(error, "message", error))})
    page.service.written()
    return page.redirect("/stock", done="category_added")


# Listing a product: its details, where it is sold, its plans and protection; its SKUs come next, one by one.

CHANNELS = ("app", "h5", "alipay_mini", "wechat_mini")
PRODUCT_FIELDS = {
    "long_term": "terms",
    "long_term.terms": "terms",
    "short_term": "min_days",
    "short_term.min_days": "min_days",
    "short_term.max_days": "max_days",
    "protection.offered": "protection_offered",
    "protection.mandatory": "protection_mandatory",
    "protection.monthly": "protection_monthly",
    "protection.daily": "protection_daily",
    "protection.damage_excess": "protection_excess",
}
"""Where a field of the API's body (as pydantic or the domain names it) sits on the form."""
MONEY_FIELDS = ("protection_monthly", "protection_daily", "protection_excess")
PRODUCT_FORM = ("category_id", "name", "brand", "description", "images", "channels", *PRODUCT_FIELDS.values())
"""The new product form's fields; an error about anything else is shown above them."""
IMAGE = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s\\]*)?|/(?![/\\])[^\s\\]*")
"""An image the customer's browser fetches: over https, or from this site (`//host` and `/\\host` are other sites)."""
WHOLE = re.compile(r"[0-9]{1,4}")


@pages.get("/stock/products/new", access=admin_catalog.EDITORS)
def new_product(page: Page) -> Response:
    """The form for a new product: its details, where it is sold, its plans and its protection."""
    return _new_product(page)


def _new_product(page: Page, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    groups = _groups(projections.catalog.categories(page.views), [])
    return page.render(
        "admin/product_new.html",
        status,
        categories=[group for group in groups if group.category],
        channels=CHANNELS,
        errors=errors or {},
        form=page.form,
    )


@pages.post("/stock/products/new", access=admin_catalog.EDITORS)
def list_new_product(page: Page) -> Response:
    """The product as `POST /v1/admin/products` lists it (its body, checked by its schema, then the same command),
    without SKUs; then on to its first SKU."""
    body, errors = listing_body(page.form, page.t)
    try:
        listing = schemas.ProductIn.model_validate(body)
    except ValidationError as error:
        return _new_product(page, 422, {**product_errors(error, page.t), **errors})
    if errors:
        return _new_product(page, 422, errors)
    try:
        product_id = page.app.list_product(*listed(listing))
    except InvalidInput as error:
        return _new_product(page, 422, {_on_form(error.field): error.message})
    page.service.written()
    return page.redirect(f"/stock/products/{product_id}/skus", done="product_listed")


def listing_body(form: Mapping[str, str], t: Callable[..., str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The body `POST /v1/admin/products` takes, read from the form (images a line each, the channels ticked, terms
    as "6, 12", short-term days, protection), and what the form itself could not read, by field: that part is left
    out of the body, for the schema to check the rest."""
    problems: dict[str, str] = {}
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "brand": form.get("brand", "").strip(),
        "description": form.get("description", "").strip(),
        "images": [line.strip() for line in form.get("images", "").splitlines() if line.strip()],
        "channels": [channel for channel in CHANNELS if form.get(f"channel_{channel}")],
        "protection": {
            "offered": bool(form.get("protection_offered")),
            "mandatory": bool(form.get("protection_mandatory")),
            "monthly": form.get("protection_monthly", "").strip() or "0.00",
            "daily": form.get("protection_daily", "").strip() or "0.00",
            "damage_excess": form.get("protection_excess", "").strip() or "0.00",
        },
    }
    try:
        body["category_id"] = UUID(form.get("category_id", "").strip())
    except ValueError:
        problems["category_id"] = t("err.category_required")
    for number, line in enumerate(body["images"], 1):
        if not IMAGE.fullmatch(line):
            problems["images"] = t("err.image", n=number, line=line[:80])
            break
    terms = [item for item in re.split(r"[\s,，、;；]+", form.get("terms", "")) if item]
    if terms and all(WHOLE.fullmatch(item) for item in terms):
        body["long_term"] = {"terms": [int(item) for item in terms]}
    elif terms:
        problems["terms"] = t("err.terms")
    days = {key: form.get(key, "").strip() for key in ("min_days", "max_days")}
    if any(days.values()):
        problems |= {key: t("err.days") for key, text in days.items() if not WHOLE.fullmatch(text)}
        if not problems.keys() & days.keys():
            body["short_term"] = {key: int(text) for key, text in days.items()}
    return body, problems


def product_errors(error: ValidationError, t: Callable[..., str]) -> dict[str, str]:
    """Pydantic's errors by form field (`short_term.max_days` is `max_days`, an item of a list says which), money
    saying what money looks like; one the form has no field for goes above it."""
    found: dict[str, str] = {}
    for item in error.errors():
        field = _on_form(".".join(part for part in item["loc"] if isinstance(part, str)))
        place = next((part for part in item["loc"] if isinstance(part, int)), None)
        message = t("err.money") if field in MONEY_FIELDS else str(item["msg"])
        if place is not None:
            message = t("stock.item", n=place + 1) + message
        found.setdefault(field, message)
    return found


def _on_form(path: str) -> str:
    """The form field showing an error about `path` of the API's body; `form` (above the fields) when none does."""
    field = PRODUCT_FIELDS.get(path, path)
    return field if field in PRODUCT_FORM else "form"


def listed(body: schemas.ProductIn) -> tuple[ProductDetails, LongTermOffer | None, ShortTermOffer | None, Protection]:
    """The domain's terms of a product, built from the API's body as its route builds them."""
    details = ProductDetails(
        body.category_id,
        body.name.strip(),
        body.brand.strip(),
        body.description,
        tuple(body.images),
        tuple(body.channels),
    )
    offer = body.protection
    protection = Protection(offer.offered, offer.mandatory, offer.monthly, offer.daily, offer.damage_excess)
    long_term, short_term = admin_catalog.plans(body)
    return details, long_term, short_term, protection


@pages.get("/stock/products/{id}/skus", access=admin_catalog.EDITORS)
def new_sku(page: Page) -> Response:
    """The form for a SKU priced for every plan the product offers."""
    return _new_sku(page, _product(page))


def _product(page: Page) -> ProductView:
    found = projections.catalog.product(page.views, page.path_id)
    if found is None:
        raise NotFound("product", page.path_id)
    return found


def _new_sku(page: Page, product: ProductView, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    return page.render(
        "admin/sku_new.html",
        status,
        product=product,
        terms=product.long_term.terms if product.long_term else (),
        errors=errors or {},
        form=page.form,
    )


@pages.post("/stock/products/{id}/skus", access=admin_catalog.EDITORS)
def add_sku(page: Page) -> Response:
    """A SKU with its specs and prices (`POST /v1/admin/products/{id}/skus`); it starts with no units."""
    product = _product(page)
    specs, bad = parse_specs(page.form.get("specs", ""))
    if bad is not None:
        return _new_sku(page, product, 422, {"specs": page.t("err.specs_line", line=bad)})
    terms = product.long_term.terms if product.long_term else ()
    body: dict[str, Any] = {
        "specs": specs,
        "market_value": page.form.get("market_value", "").strip(),
        "deposit": page.form.get("deposit", "").strip(),
        "monthly_rent": {str(months): page.form.get(f"rent_{months}", "").strip() for months in terms},
        "buyout_price": {str(months): page.form.get(f"buyout_{months}", "").strip() for months in terms},
        "renewal_monthly_rent": page.form.get("renewal_rent", "").strip() or None,
        "daily_rent": page.form.get("daily_rent", "").strip() or None,
    }
    try:
        sku = admin_catalog.sku(schemas.SkuIn.model_validate(body), uuid4())
    except ValidationError as error:
        return _new_sku(page, product, 422, _field_errors(error, money=page.t("err.money")))
    except ApiError as error:
        return _new_sku(page, product, 422, {"specs": error.detail})
    try:
        page.app.add_sku(product.id, sku)
    except InvalidInput as error:
        field = {"monthly_rent": f"rent_{terms[0]}" if terms else "specs", "renewal_monthly_rent": "renewal_rent"}
        return _new_sku(page, product, 422, {field.get(error.field, error.field): error.message})
    page.service.written()
    return page.redirect(f"/stock/skus/{sku.id}", done="sku_added")


def parse_specs(text: str) -> tuple[dict[str, str], str | None]:
    """`name: value` a line (a full-width colon or `=` will do); the first line that is neither, if any."""
    specs: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = re.split(r"[:：=]", line, maxsplit=1)
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            return specs, line.strip()
        specs[parts[0].strip()] = parts[1].strip()
    return specs, None


FORM_FIELDS = {"monthly_rent": "rent_{}", "buyout_price": "buyout_{}", "renewal_monthly_rent": "renewal_rent"}


def _field_errors(error: ValidationError, *, money: str | None = None) -> dict[str, str]:
    """Pydantic's errors by form field: `monthly_rent.12` is `rent_12`; money fields say what money looks like."""
    found: dict[str, str] = {}
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        if not loc:
            continue
        name = FORM_FIELDS.get(loc[0], loc[0])
        field = name.format(loc[1]) if "{}" in name and len(loc) > 1 else name
        message = str(item["msg"])
        if money and field not in ("specs", "name", "parent_id"):
            message = money
        found.setdefault(field, message)
    return found


def _unit_states(units: list[UnitState]) -> dict[str, int]:
    return {state: sum(1 for unit in units if unit.status == state) for state in UNIT_STATES}


screen = Screen("stock", "nav.stock", "/stock", admin_catalog.EDITORS, pages)
