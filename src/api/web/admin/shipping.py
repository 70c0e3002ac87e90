"""Shipping and returns: the warehouse's three queues (to ship, coming back, to inspect), each order with who placed
it, what it rents, the units it holds and when; shipping the unit held for it (picked already), another of the SKU's
free units or one scanned, with a carrier and a tracking number; recording a device back; and the inspection with
its damage fee, notes and photos, the settlement worked out by the domain's own rules (`inspection_forecast`) and
shown before it is confirmed."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from starlette.responses import Response

import projections.catalog
import projections.customers
import projections.orders
import projections.stock
from api.http import answers
from api.http.endpoints import admin_orders
from api.http.schemas import admin_orders as schemas
from api.store import api_inspection_photos, insert_ignore
from api.web import i18n
from api.web.admin.console import Page, Pages, Screen
from api.web.formatting import money
from api.web.pages import Upload, uploads
from leasecore.audit import replay
from leasecore.errors import InvalidInput, NotFound
from leasecore.lease import LeaseStatus, SettlementForecast
from projections.prepared import Prepared

pages = Pages()
PER_PAGE = 20
QUEUES = {
    "ship": LeaseStatus.PENDING_SHIPMENT,
    "returning": LeaseStatus.RETURNING,
    "inspect": LeaseStatus.INSPECTING,
}
"""The warehouse's queues (待发货, 待归还, 检测中) by their key in the address."""
CARRIERS = ("顺丰速运", "京东物流", "EMS", "中通快递", "圆通速递", "SF Express")
MAX_PHOTO = 5 * 1024 * 1024
MAX_PHOTOS = 6
PHOTO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}
SHA256 = re.compile(r"^[0-9a-f]{64}$")

WORDS = {
    "ship.title": ("发货与归还", "Shipping & returns"),
    "ship.queues": ("队列", "Queues"),
    "ship.queue.ship": ("待发货", "To ship"),
    "ship.queue.returning": ("待归还", "Coming back"),
    "ship.queue.inspect": ("待检测", "To inspect"),
    "ship.empty.ship": ("没有待发货的订单。", "Nothing to ship."),
    "ship.empty.returning": ("没有归还途中的设备。", "No device on its way back."),
    "ship.empty.inspect": ("没有待检测的设备。", "Nothing to inspect."),
    "ship.total": ("共 {total} 单，先来的在前", "{total} orders, oldest first"),
    "ship.col.units": ("设备", "Units"),
    "ship.col.held": ("预留设备", "Unit held"),
    "ship.col.placed": ("下单时间", "Placed"),
    "ship.col.since": ("进入此队列", "In this queue since"),
    "ship.col.return_tracking": ("退回单号", "Return tracking no."),
    "ship.col.action": ("操作", "Action"),
    "ship.do.ship": ("发货", "Ship"),
    "ship.do.record_return": ("确认收到", "Record arrival"),
    "ship.do.inspect": ("检测", "Inspect"),
    "ship.order": ("订单 {id}", "Order {id}"),
    "ship.back": ("返回队列", "Back to the queue"),
    "ship.form.ship": ("发货", "Ship the order"),
    "ship.unit": ("选择设备（序列号）", "Unit (serial)"),
    "ship.unit_held": ("{serial}（已为此单预留）", "{serial} (held for this order)"),
    "ship.scan": ("或扫码 / 输入序列号", "Or scan / type a serial"),
    "ship.scan_hint": ("填写后以此为准；多台设备用空格或逗号分隔", "Used when filled; several units: space or comma"),
    "ship.no_units": ("此 SKU 暂无可用设备，请先入库。", "This SKU has no free unit: receive units first."),
    "ship.carrier": ("承运商", "Carrier"),
    "ship.tracking_no": ("运单号", "Tracking no."),
    "ship.submit": ("确认发货", "Ship"),
    "ship.serial_count": ("此订单需要 {count} 台设备", "This order needs {count} units"),
    "ship.form.return": ("确认设备已退回", "Record the device back"),
    "ship.return_note": (
        "客户退回单号 {tracking}。确认收到后订单进入检测。",
        "Shipped back under {tracking}. Once recorded, the order waits for inspection.",
    ),
    "ship.return_submit": ("确认收到退回设备", "Record the device back"),
    "ship.form.inspect": ("检测与结算", "Inspection and settlement"),
    "ship.damage_fee": ("损坏费（元）", "Damage fee (¥)"),
    "ship.damage_hint": (
        "按检测结果填写；有意外保障时客户承担部分以免赔额为上限",
        "As found; with protection the customer's part is capped at the excess",
    ),
    "ship.notes": ("检测备注", "Notes"),
    "ship.photos": ("检测照片", "Photos"),
    "ship.photos_hint": (
        "PNG、JPEG 或 WebP，每张不超过 5 MB，最多 6 张",
        "PNG, JPEG or WebP, at most 5 MB each, up to 6",
    ),
    "ship.preview_submit": ("计算结算金额", "Work out the settlement"),
    "ship.preview": ("结算预览（尚未确认）", "Settlement preview (not yet confirmed)"),
    "ship.preview_note": (
        "以下金额按确认检测时的同一规则算出；确认后即结算，押金按此扣除与退还。",
        "Worked out by the rules the inspection itself follows; confirming settles the order as shown.",
    ),
    "ship.confirm": ("确认检测并结算", "Confirm the inspection"),
    "ship.confirm_ask": ("确认检测结果并结算此订单？", "Confirm the inspection and settle this order?"),
    "ship.photos_kept": ("已上传 {count} 张照片", "{count} photos uploaded"),
    "ship.notes_photos": ("检测照片 {count} 张", "{count} inspection photos"),
    "ship.inspection": ("检测记录", "Inspection"),
    "ship.no_photos": ("没有检测照片。", "No inspection photos."),
    "ship.photo_alt": ("订单 {id} 的检测照片 {n}", "Inspection photo {n} of order {id}"),
    "ship.status_now": ("订单当前状态：{status}。此状态下无仓库操作。", "The order is {status}: no warehouse action."),
    "fc.damage_fee": ("检测损坏费", "Damage found"),
    "fc.excess": ("意外保障免赔额（封顶）", "Protection caps liability at"),
    "fc.no_protection": ("无意外保障", "No protection"),
    "fc.liability": ("客户承担损坏费", "Customer's liability"),
    "fc.late_return": ("逾期归还费（{days} 天）", "Late return ({days} days)"),
    "fc.rent_owed": ("未付租金与滞纳金", "Rent and fees owed"),
    "fc.owed": ("应付合计", "Owed in all"),
    "fc.deposit_held": ("押金余额", "Deposit held"),
    "fc.deducted": ("押金抵扣", "Deducted from the deposit"),
    "fc.deposit_refunded": ("退还押金", "Deposit refunded"),
    "fc.balance": ("押金不足，客户需补缴", "Balance the customer pays"),
    "fc.credit": ("多付款项退还", "Overpayment refunded"),
    "err.photo_type": (
        "「{name}」不是 PNG、JPEG 或 WebP 图片（按文件内容判断，而非文件名）",
        "“{name}” is not a PNG, JPEG or WebP image (judged by its content, not its name)",
    ),
    "err.photo_size": ("「{name}」有 {size} MB，每张最多 5 MB", "“{name}” is {size} MB; at most 5 MB each"),
    "err.photo_count": ("最多上传 {max} 张照片", "At most {max} photos"),
    "err.serial_required": ("请选择或扫描设备序列号", "Pick or scan a serial"),
    "err.serial_count": (
        "此订单需要 {count} 台设备，收到 {given} 个序列号",
        "This order needs {count} units, got {given}",
    ),
    "err.serial_unknown": ("此 SKU 没有序列号为 {serial} 的设备", "This SKU has no unit {serial}"),
    "err.damage_fee": ("请填写 0 或以上的金额，最多两位小数", "An amount of 0 or more, at most two decimals"),
    "flash.shipped": ("已发货，订单已移出待发货队列。", "Shipped: the order has left the to-ship queue."),
    "flash.returned": ("已确认收到设备，订单进入待检测。", "Recorded back: the order waits for inspection."),
    "flash.inspected": (
        "检测已确认，订单已结算或等待补缴。",
        "Inspected: the order is settled or waits for the balance.",
    ),
}
i18n.add(WORDS)


@dataclass(frozen=True)
class QueueTab:
    key: str
    label: str
    href: str
    current: bool
    count: int


@dataclass(frozen=True)
class Row:
    """An order in a warehouse queue: who, what, which units, since when."""

    id: UUID
    customer_name: str | None
    customer_phone: str | None
    product: str
    specs: str
    quantity: int
    protection: bool
    units: tuple[str, ...]
    """Those it holds: booked for it until it ships, then those shipped."""
    return_tracking_no: str | None
    placed: str
    since: str


@pages.get("/shipping", access=admin_orders.WAREHOUSE)
def queue(page: Page) -> Response:
    """A queue's orders, a page at a time, with the action each waits for."""
    key = page.query.get("queue", "ship")
    if key not in QUEUES:
        key = "ship"
    number = _page_number(page.query.get("page"))
    offset = (number - 1) * PER_PAGE
    found = projections.orders.orders(page.views, status=QUEUES[key], sort="oldest", limit=PER_PAGE, offset=offset)
    names = _Names(page, projections.orders.serials_of(page.views, [view.id for view in found.items]))
    pages_count = max(1, -(-found.total // PER_PAGE))
    return page.render(
        "admin/shipping.html",
        tabs=_tabs(page, key),
        queue=key,
        rows=[names.row(view) for view in found.items],
        total=found.total,
        prev=page.url("/shipping", queue=key, page=number - 1) if number > 1 else None,
        next=page.url("/shipping", queue=key, page=number + 1) if number < pages_count else None,
    )


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 100_000 else 1


def _tabs(page: Page, current: str) -> list[QueueTab]:
    return [
        QueueTab(
            key,
            page.t(f"ship.queue.{key}"),
            page.url("/shipping", queue=key),
            key == current,
            projections.orders.orders(page.views, status=status, limit=1).total,
        )
        for key, status in QUEUES.items()
    ]


class _Names:
    """Who placed each order, what it rents and the units it holds, looked up once per page."""

    def __init__(self, page: Page, serials: dict[UUID, list[str]]) -> None:
        self.page = page
        self.serials = serials
        self.customers: dict[UUID, Any] = {}
        self.products: dict[UUID, Any] = {}

    def row(self, view: projections.orders.OrderView) -> Row:
        if view.customer_id not in self.customers:
            self.customers[view.customer_id] = projections.customers.customer(self.page.views, view.customer_id)
        person = self.customers[view.customer_id]
        product, specs = self.product(view.product_id, view.sku_id)
        return Row(
            id=view.id,
            customer_name=person.name if person else None,
            customer_phone=person.phone if person else None,
            product=product,
            specs=specs,
            quantity=view.quantity,
            protection=view.protection,
            units=tuple(self.serials.get(view.id, ())) or view.unit_serials,
            return_tracking_no=view.return_tracking_no,
            placed=self.page.time(view.created_at),
            since=self.page.time(view.updated_at),
        )

    def product(self, product_id: UUID, sku_id: UUID) -> tuple[str, str]:
        if product_id not in self.products:
            self.products[product_id] = projections.catalog.product(self.page.views, product_id)
        found = self.products[product_id]
        if found is None:
            return str(product_id)[:8], str(sku_id)[:8]
        sku = next((item for item in found.skus if item.id == sku_id), None)
        return found.details.name, " / ".join(sku.specs.values()) if sku else str(sku_id)[:8]


# One order: the form its state calls for.


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str


@pages.get("/shipping/{id}", access=admin_orders.WAREHOUSE)
def order_page(page: Page) -> Response:
    """The order with the warehouse's form for its state: ship, record the return or inspect."""
    return _order_page(page, page.path_id)


def _order_page(
    page: Page,
    order_id: UUID,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    forecast: SettlementForecast | None = None,
    photos: list[str] | None = None,
) -> Response:
    order = answers.admin_order(page.app, page.views, order_id)
    product = projections.catalog.product(page.views, order.product_id)
    sku = next((item for item in product.skus if item.id == order.sku_id), None) if product else None
    held: tuple[str, ...] = ()
    free: list[str] = []
    if order.status == LeaseStatus.PENDING_SHIPMENT.value:
        held = page.app.units_held(order_id)
        free = [
            unit.serial
            for unit in projections.stock.unit_states(page.views, order.sku_id)
            if unit.status == "available" and unit.serial not in held
        ]
    return page.render(
        "admin/ship.html",
        status,
        order=order,
        product=product.details.name if product else str(order.product_id),
        specs=" / ".join(sku.specs.values()) if sku else str(order.sku_id),
        held=held,
        free=free,
        carriers=CARRIERS,
        form=page.form,
        errors=errors or {},
        forecast=_figures(page, forecast) if forecast else None,
        photos=photos or [],
        stored_photos=[] if forecast else photo_hashes(page, order_id),
        inspection=_inspection(page, order_id) if order.settlement or order.status == "pending_settlement" else None,
        max_photos=MAX_PHOTOS,
    )


def _figures(page: Page, forecast: SettlementForecast) -> list[Figure]:
    """The preview's lines: what the inspection charges, then what becomes of the deposit."""
    found = forecast.inspection
    rows = [
        Figure("damage_fee", page.t("fc.damage_fee"), money(found.damage_fee)),
        Figure(
            "excess",
            page.t("fc.excess"),
            money(found.excess) if found.excess is not None else page.t("fc.no_protection"),
        ),
        Figure("liability", page.t("fc.liability"), money(found.liability)),
    ]
    if found.late_days:
        rows.append(
            Figure("late_return", page.t("fc.late_return", days=found.late_days), money(found.charges.late_return))
        )
    rows += [
        Figure("rent_owed", page.t("fc.rent_owed"), money(forecast.rent_owed)),
        Figure("owed", page.t("fc.owed"), money(forecast.owed)),
        Figure("deposit_held", page.t("fc.deposit_held"), money(forecast.deposit_held)),
        Figure("deducted", page.t("fc.deducted"), money(forecast.deducted)),
        Figure("deposit_refunded", page.t("fc.deposit_refunded"), money(forecast.deposit_refunded)),
    ]
    if forecast.balance:
        rows.append(Figure("balance", page.t("fc.balance"), money(forecast.balance)))
    if forecast.credit:
        rows.append(Figure("credit", page.t("fc.credit"), money(forecast.credit)))
    return rows


def _inspection(page: Page, order_id: UUID) -> dict[str, str] | None:
    """The inspection as recorded (its event's facts), for an order past it."""
    for event in reversed(replay(page.app, order_id).events):
        if event.type.endswith("InspectionCompleted"):
            return {
                "damage_fee": money(event.fields["damage_fee"]),
                "liability": money(event.fields["liability"]),
                "notes": str(event.fields.get("notes") or ""),
                "at": page.time(event.timestamp),
            }
    return None


@pages.post("/shipping/{id}/ship", access=admin_orders.WAREHOUSE)
def ship(page: Page) -> Response:
    """The unit picked (or scanned) goes out with a carrier and a tracking number (`POST /v1/admin/orders/{id}/ship`);
    back to the queue, which no longer lists the order."""
    order_id = page.path_id
    view = projections.orders.order(page.views, order_id)
    if view is None:
        raise NotFound("order", order_id)
    scanned = [item for item in re.split(r"[\s,，;；]+", page.form.get("scan", "")) if item]
    serials = scanned or [item for item in (page.form.get("unit", "").strip(),) if item]
    if not serials:
        return _order_page(page, order_id, 422, errors={"unit": page.t("err.serial_required")})
    if len(serials) != view.quantity:
        message = page.t("err.serial_count", count=view.quantity, given=len(serials))
        return _order_page(page, order_id, 422, errors={"unit": message})
    try:
        shipment = schemas.Shipment.model_validate(
            {
                "unit_serials": serials,
                "carrier": page.form.get("carrier", "").strip(),
                "tracking_no": page.form.get("tracking_no", "").strip(),
            }
        )
    except ValidationError as error:
        return _order_page(page, order_id, 422, errors=_field_errors(error, {"unit_serials": "unit"}))
    try:
        page.app.ship(order_id, shipment.serials, shipment.carrier.strip(), shipment.tracking_no.strip())
    except InvalidInput as error:
        field = {"unit_serial": "unit", "unit_serials": "unit"}.get(error.field, error.field)
        return _order_page(page, order_id, 422, errors={field: error.message})
    except NotFound as error:
        if error.kind != "unit":
            raise
        return _order_page(page, order_id, 422, errors={"unit": page.t("err.serial_unknown", serial=error.id)})
    page.service.written()
    return page.redirect("/shipping", queue="ship", done="shipped")


@pages.post("/shipping/{id}/returned", access=admin_orders.WAREHOUSE)
def record_return(page: Page) -> Response:
    """The device shipped back has arrived (`POST /v1/admin/orders/{id}/returned`); the order waits for inspection."""
    page.app.record_return(page.path_id)
    page.service.written()
    return page.redirect("/shipping", queue="returning", done="returned")


@pages.post("/shipping/{id}/inspect", access=admin_orders.WAREHOUSE)
def inspect(page: Page) -> Response:
    """Two steps: the fee, notes and photos give a settlement preview (the photos are kept with the order, with any
    an earlier preview kept); confirming it completes the inspection (`POST /v1/admin/orders/{id}/inspection`) with
    the photo count in its notes, and settles."""
    order_id = page.path_id
    try:
        body = schemas.Inspection.model_validate(
            {"damage_fee": page.form.get("damage_fee", "").strip() or None, "notes": page.form.get("notes", "")}
        )
    except ValidationError as error:
        errors = _field_errors(error, {})
        if "damage_fee" in errors:
            errors["damage_fee"] = page.t("err.damage_fee")
        return _order_page(page, order_id, 422, errors=errors)
    if page.form.get("step") == "confirm":
        kept = _kept_photos(page, order_id, page.form.get("photos", ""))
        notes = body.notes.strip()
        if kept:
            counted = page.t("ship.notes_photos", count=len(kept))
            notes = f"{notes}（{counted}）" if notes else counted
        try:
            page.app.complete_inspection(order_id, body.damage_fee, notes)
        except InvalidInput as error:
            return _order_page(page, order_id, 422, errors={error.field: error.message})
        page.service.written()
        return page.redirect("/shipping", queue="inspect", done="inspected")
    files = uploads(page.request, "photos")
    problem = _photo_problem(page, files)
    if problem:
        return _order_page(page, order_id, 422, errors={"photos": problem})
    try:
        forecast = page.app.inspection_forecast(order_id, body.damage_fee)
    except InvalidInput as error:
        return _order_page(page, order_id, 422, errors={error.field: error.message})
    _keep_photos(page, order_id, files)
    return _order_page(page, order_id, forecast=forecast, photos=photo_hashes(page, order_id))


def _field_errors(error: ValidationError, names: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "form"
        found.setdefault(names.get(field, field), str(item["msg"]))
    return found


# Photos.


def photo_type(content: bytes) -> str | None:
    """The image type by its first bytes (never by the name it was given): PNG, JPEG or WebP."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def _photo_problem(page: Page, files: list[Upload]) -> str | None:
    if len(files) > MAX_PHOTOS:
        return page.t("err.photo_count", max=MAX_PHOTOS)
    for item in files:
        name = item.filename or "?"
        if len(item.content) > MAX_PHOTO:
            return page.t("err.photo_size", name=name, size=f"{len(item.content) / 1024 / 1024:.1f}")
        if photo_type(item.content) is None:
            return page.t("err.photo_type", name=name)
    return None


def _keep_photos(page: Page, order_id: UUID, files: list[Upload]) -> list[str]:
    """Stored by their SHA-256 under the order (the same photo twice is kept once); their hashes, in order."""
    assert page.user is not None
    hashes: list[str] = []
    now = page.app.clock.now()
    with page.service.store.begin() as connection:
        for item in files:
            digest = hashlib.sha256(item.content).hexdigest()
            row = {
                "sha256": digest,
                "order_id": order_id,
                "content_type": photo_type(item.content),
                "content": item.content,
                "uploaded_at": now,
                "uploaded_by": page.user.username,
            }
            insert_ignore(connection, api_inspection_photos, row, ("sha256", "order_id"))
            if digest not in hashes:
                hashes.append(digest)
    return hashes


def _kept_photos(page: Page, order_id: UUID, text: str) -> list[str]:
    wanted = [item for item in text.split(",") if SHA256.match(item)]
    stored = set(photo_hashes(page, order_id))
    return [item for item in wanted if item in stored]


def photo_hashes(page: Page, order_id: UUID) -> list[str]:
    """The order's inspection photos, oldest first."""
    return [sha256 for (sha256,) in _PHOTO_HASHES.tuples(page.service.store, order_id=order_id)]


_PHOTO_HASHES = Prepared(
    select(api_inspection_photos.c.sha256)
    .where(api_inspection_photos.c.order_id == bindparam("order_id"))
    .order_by(api_inspection_photos.c.uploaded_at, api_inspection_photos.c.sha256)
)


@pages.get("/shipping/{id}/photos/{sha256}", access=admin_orders.EVERYONE)
def photo(page: Page) -> Response:
    """One inspection photo as uploaded, with its checked type; the browser is told not to guess another."""
    digest = str(page.request.path_params["sha256"])
    table = api_inspection_photos.c
    with page.service.store.read() as connection:
        row = connection.execute(
            select(table.content_type, table.content).where(table.order_id == page.path_id, table.sha256 == digest)
        ).first()
    if row is None:
        raise NotFound("photo", digest)
    return Response(
        bytes(row[1]),
        media_type=row[0],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )


screen = Screen("shipping", "nav.shipping", "/shipping", admin_orders.WAREHOUSE, pages)
