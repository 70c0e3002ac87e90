"""The back office's new product form, on its own: what it reads into the API's body (`POST /v1/admin/products`),
what it refuses itself (an image from elsewhere than https or this site, terms or days that are not numbers), and
where each of the schema's errors lands on the form."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from api.http.schemas.admin_catalog import ProductIn
from api.web import i18n
from api.web.admin.stock import listed, listing_body, product_errors


def t(key: str, **values: object) -> str:
    return i18n.translate("zh", key, **values)


def form(**fields: str) -> dict[str, str]:
    category = str(uuid4())
    return {"category_id": category, "name": "Pad Mini", "brand": "Orchard", "channel_app": "on"} | fields


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        ProductIn.model_validate(body)
    return product_errors(raised.value, t)


def test_a_filled_form_is_the_body_the_api_takes() -> None:
    filled = form(
        description="8.3 英寸",
        images="/images/pad-front.jpg\n\n https://img.example.com/pad-back.jpg \n",
        channel_wechat_mini="on",
        terms="6，12 24",
        min_days="3",
        max_days="60",
        protection_offered="on",
        protection_monthly="19.9",
        protection_daily="2",
        protection_excess="300",
    )
    body, problems = listing_body(filled, t)
    assert problems == {}
    details, long_term, short_term, protection = listed(ProductIn.model_validate(body))
    assert str(details.category_id) == filled["category_id"]
    assert details.images == ("/images/pad-front.jpg", "https://img.example.com/pad-back.jpg")
    assert details.channels == ("app", "wechat_mini")
    assert long_term is not None and long_term.terms == (6, 12, 24)
    assert short_term is not None and (short_term.min_days, short_term.max_days) == (3, 60)
    assert (protection.offered, protection.mandatory) == (True, False)
    assert [str(protection.monthly), str(protection.daily), str(protection.damage_excess)] == [
        "19.90",
        "2.00",
        "300.00",
    ]


def test_empty_plans_and_protection_leave_them_out() -> None:
    body, problems = listing_body(form(), t)
    assert problems == {}
    _, long_term, short_term, protection = listed(ProductIn.model_validate(body))
    assert (long_term, short_term, protection.offered) == (None, None, False)


@pytest.mark.parametrize(
    "line",
    [
        "http://img.example.com/a.jpg",
        "//img.example.com/a.jpg",
        "/\\img.example.com/a.jpg",
        "javascript:alert(1)",
        "https:///a.jpg",
        "images/a.jpg",
        "/images/a b.jpg",
    ],
)
def test_an_image_not_over_https_nor_on_this_site_is_named_by_its_line(line: str) -> None:
    _, problems = listing_body(form(images=f"/images/ok.jpg\n{line}"), t)
    assert problems == {"images": f"第 2 行「{line}」不是 https:// 地址或站内路径"}


def test_terms_days_and_category_the_form_cannot_read_are_named_and_left_out() -> None:
    body, problems = listing_body(form(category_id="", terms="6, twelve", min_days="3", max_days="two"), t)
    assert problems == {
        "category_id": "请选择品类",
        "terms": "请填写月数，以逗号分隔，如 6, 12",
        "max_days": "请填写天数（整数）",
    }
    assert {"category_id", "long_term", "short_term"}.isdisjoint(body)


def test_the_schemas_errors_land_next_to_their_fields() -> None:
    body, problems = listing_body(
        form(name="", terms="6, 0", min_days="0", max_days="5000", protection_monthly="19.999"), t
    )
    assert problems == {}
    errors = errors_of(body)
    assert errors["name"] == "String should have at least 1 character"
    assert errors["terms"] == "第 2 项：Input should be greater than or equal to 1"
    assert errors["min_days"] == "Input should be greater than or equal to 1"
    assert errors["max_days"] == "Input should be less than or equal to 3650"
    assert errors["protection_monthly"] == "请填写金额，最多两位小数"
    assert set(errors) == {"name", "terms", "min_days", "max_days", "protection_monthly"}


def test_an_error_the_form_has_no_field_for_goes_above_it() -> None:
    body, _ = listing_body(form(), t)
    assert errors_of(body | {"skus": "none"}) == {"form": "Input should be a valid list"}
