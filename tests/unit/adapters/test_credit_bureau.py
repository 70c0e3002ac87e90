from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx
import pytest

from adapters import alipay_openapi
from adapters.alipay_openapi import AlipayConfig
from adapters.credit_bureau.sandbox import SandboxBureau
from adapters.credit_bureau.zhima import ZhimaBureau
from adapters.errors import BureauError
from adapters.keys import private_key_pem, public_key_pem
from leasecore.ports import InvalidSignature

from .fakes import alipay_answer, rsa2_verifies

VALID = "11010519491231002X"
OTHER = "440304199001011233"


def test_anyone_not_set_scores_650_and_a_set_score_is_answered():
    bureau = SandboxBureau()
    bureau.set_score("11010519491231002x", 780)

    assert bureau.score("张三", VALID).score == 780
    assert bureau.score("李四", OTHER).score == 650
    assert bureau.score("张三", VALID).provider == "sandbox"


def test_answers_are_deterministic_down_to_the_reference():
    first, second = SandboxBureau(), SandboxBureau()
    first.set_score(VALID, 720)
    second.set_score(VALID, 720)
    assert first.score("张三", VALID) == second.score("张三", VALID)
    assert first.score("张三", VALID).reference != first.score("李四", OTHER).reference


def test_a_score_can_be_changed_and_cleared():
    bureau = SandboxBureau()
    bureau.set_score(VALID, 400)
    bureau.set_score(VALID, 900)
    assert bureau.score("张三", VALID).score == 900
    bureau.clear_score(VALID)
    assert bureau.score("张三", VALID).score == 650


@pytest.mark.parametrize(
    ("score", "error"), [(349, ValueError), (951, ValueError), (700.0, TypeError), (True, TypeError)]
)
def test_scores_outside_the_sesame_range_are_refused(score, error):
    with pytest.raises(error):
        SandboxBureau().set_score(VALID, score)


def test_a_score_is_set_only_for_a_real_id_number():
    with pytest.raises(ValueError, match="check digit"):
        SandboxBureau().set_score("110105194912310021", 700)


APP_ID = "2021004100000002"


def zhima(clock, merchant_key, provider_key, handler):
    config = AlipayConfig(
        app_id=APP_ID,
        app_private_key_pem=private_key_pem(merchant_key).decode(),
        alipay_public_key_pem=public_key_pem(provider_key.public_key()).decode(),
        gateway_url="https://openapi.alipay.test/gateway.do",
    )
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return ZhimaBureau(config, http_client=client, clock=clock, transaction_ids=lambda: "tx-0001")


def sesame(key, merchant_key, seen, payload):
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        params = dict(parse_qsl(request.content.decode()))
        assert rsa2_verifies(
            merchant_key.public_key(), alipay_openapi.request_sign_content(params).encode(), params["sign"]
        )
        return httpx.Response(200, text=alipay_answer("zhima.credit.score.get", payload, key))

    return handle


def test_sesame_is_asked_with_a_signed_request_and_its_signed_score_believed(clock, merchant_key, provider_key):
    seen: list[httpx.Request] = []
    answer = {"code": "10000", "msg": "Success", "biz_no": "ZM201612013000000242400404124269", "zm_score": "750"}
    bureau = zhima(clock, merchant_key, provider_key, sesame(provider_key, merchant_key, seen, answer))

    score = bureau.score(" 张三 ", "11010519491231002x")

    assert (score.score, score.provider, score.reference) == (750, "zhima", "ZM201612013000000242400404124269")
    params = dict(parse_qsl(seen[0].content.decode()))
    assert (params["method"], params["app_id"], params["timestamp"]) == (
        "zhima.credit.score.get",
        APP_ID,
        "2026-01-31 10:00:00",
    )
    assert json.loads(params["biz_content"]) == {
        "transaction_id": "tx-0001",
        "product_code": "w1010100100000000001",
        "cert_type": "IDENTITY_CARD",
        "cert_no": VALID,
        "name": "张三",
    }


def test_a_score_signed_by_another_key_is_not_believed(clock, merchant_key, provider_key, stranger_key):
    answer = {"code": "10000", "msg": "Success", "biz_no": "ZM1", "zm_score": "950"}
    bureau = zhima(clock, merchant_key, provider_key, sesame(stranger_key, merchant_key, [], answer))
    with pytest.raises(InvalidSignature):
        bureau.score("张三", VALID)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ZMCREDIT.authentication_fail",
                "sub_msg": "认证失败",
            },
            "认证失败",
        ),
        ({"code": "10000", "msg": "Success", "biz_no": "ZM1", "zm_score": "1200"}, "impossible score '1200'"),
        ({"code": "10000", "msg": "Success", "biz_no": "ZM1"}, "impossible score None"),
    ],
)
def test_no_usable_score_is_a_bureau_error(clock, merchant_key, provider_key, payload, message):
    bureau = zhima(clock, merchant_key, provider_key, sesame(provider_key, merchant_key, [], payload))
    with pytest.raises(BureauError, match=message):
        bureau.score("张三", VALID)
