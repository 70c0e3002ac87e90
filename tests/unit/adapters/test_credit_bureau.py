from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from adapters.alipay_openapi import AlipayConfig
from adapters.credit_bureau.sandbox import SandboxBureau
from adapters.credit_bureau.zhima import ZhimaBureau
from adapters.errors import BureauError, ProviderError
from adapters.keys import private_key_pem, public_key_pem
from leasecore.ports import InvalidSignature
from tests.peers.zhima import APP_ID, METHOD, ZhimaPeer

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


@pytest.fixture
def sesame(merchant_key, provider_key) -> Iterator[ZhimaPeer]:
    peer = ZhimaPeer(merchant_key.public_key(), provider_key, APP_ID)
    peer.scores[VALID] = 750
    with peer:
        yield peer
    assert peer.failures == []


def zhima(clock, merchant_key, provider_key, peer: ZhimaPeer, timeout: str = "2") -> ZhimaBureau:
    """The bureau as production configures it: an Alipay app whose gateway_url is the peer's."""
    config = AlipayConfig.from_settings(
        {
            "app_id": APP_ID,
            "app_private_key": private_key_pem(merchant_key).decode(),
            "alipay_public_key": public_key_pem(provider_key.public_key()).decode(),
            "gateway_url": peer.gateway_url,
            "timeout": timeout,
        }
    )
    return ZhimaBureau(config, clock=clock, transaction_ids=lambda: "tx-0001")


def test_sesame_is_asked_with_a_signed_request_and_its_signed_score_believed(clock, merchant_key, provider_key, sesame):
    score = zhima(clock, merchant_key, provider_key, sesame).score(" 张三 ", "11010519491231002x")

    assert (score.score, score.provider, score.reference) == (750, "zhima", "ZM202601313000000000000000000001")
    (request,) = sesame.received
    params = request.form
    assert (params["method"], params["app_id"], params["timestamp"]) == (METHOD, APP_ID, "2026-01-31 10:00:00")
    assert json.loads(params["biz_content"]) == {
        "transaction_id": "tx-0001",
        "product_code": "w1010100100000000001",
        "cert_type": "IDENTITY_CARD",
        "cert_no": VALID,
        "name": "张三",
    }


def test_a_score_signed_by_another_key_is_not_believed(clock, merchant_key, provider_key, stranger_key, sesame):
    sesame.sign_with = stranger_key
    with pytest.raises(InvalidSignature):
        zhima(clock, merchant_key, provider_key, sesame).score("张三", VALID)


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
            "ZMCREDIT.authentication_fail: 认证失败",
        ),
        ({"code": "10000", "msg": "Success", "biz_no": "ZM1", "zm_score": "1200"}, "impossible score '1200'"),
        ({"code": "10000", "msg": "Success", "biz_no": "ZM1"}, "impossible score None"),
    ],
)
def test_no_usable_score_is_a_bureau_error(clock, merchant_key, provider_key, sesame, payload, message):
    sesame.answers[METHOD] = payload
    with pytest.raises(BureauError, match=message):
        zhima(clock, merchant_key, provider_key, sesame).score("张三", VALID)


def test_a_person_sesame_knows_no_score_for_is_a_bureau_error_naming_its_code(
    clock, merchant_key, provider_key, sesame
):
    with pytest.raises(BureauError, match="ZMCREDIT.authentication_fail") as refused:
        zhima(clock, merchant_key, provider_key, sesame).score("李四", OTHER)
    assert refused.value.code == "ZMCREDIT.authentication_fail"


def test_sesame_slower_than_the_timeout_is_a_provider_error_after_one_request(
    clock, merchant_key, provider_key, sesame
):
    sesame.delay = 1.0
    with pytest.raises(ProviderError, match="unreachable"):
        zhima(clock, merchant_key, provider_key, sesame, timeout="0.3").score("张三", VALID)
    assert len(sesame.received) == 1
