from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.errors import SmsFailed, SmsUnconfirmed
from adapters.sms.aliyun import AliyunSms, AliyunSmsConfig, percent_encode, rpc_signature, string_to_sign
from adapters.sms.sandbox import SandboxSms, SentSms
from tests.peers import PeerAnswer
from tests.peers.aliyun_sms import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunSmsPeer, aliyun_signature

from .conftest import NOW


@pytest.fixture
def sms(clock):
    return SandboxSms(clock)


def test_sent_messages_are_kept_in_order_with_the_clock_time(sms, clock):
    first = sms.send("13800138000", "您的验证码是 123456")
    clock.advance(timedelta(seconds=30))
    second = sms.send("13900139000", "您的验证码是 654321")

    assert sms.messages() == [
        SentSms(first, "13800138000", "您的验证码是 123456", NOW),
        SentSms(second, "13900139000", "您的验证码是 654321", NOW + timedelta(seconds=30)),
    ]
    assert first != second


def test_the_outbox_filters_by_phone(sms):
    sms.send("13800138000", "a")
    sms.send("13900139000", "b")
    sms.send("138-0013-8000", "c")

    assert [m.text for m in sms.messages(phone="13800138000")] == ["a", "c"]
    assert [m.text for m in sms.messages(phone="139 0013 9000")] == ["b"]
    assert sms.messages(phone="10000000000") == []


def test_injected_failures_raise_and_leave_the_outbox_untouched(sms):
    sms.fail_next("isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控", times=2)
    for _ in range(2):
        with pytest.raises(SmsFailed, match="BUSINESS_LIMIT_CONTROL"):
            sms.send("13800138000", "a")
    sms.send("13800138000", "b")
    assert [m.text for m in sms.messages()] == ["b"]


def test_a_failing_phone_fails_until_restored(sms):
    sms.fail_phone("13800138000")
    with pytest.raises(SmsFailed, match="OUT_OF_SERVICE"):
        sms.send("138 0013 8000", "a")
    sms.send("13900139000", "b")
    sms.restore_phone("13800138000")
    sms.send("13800138000", "c")
    assert [m.text for m in sms.messages()] == ["b", "c"]


@pytest.mark.parametrize(("phone", "text"), [("", "a"), ("not a phone", "a"), ("1380", "a"), ("13800138000", "  ")])
def test_what_a_real_provider_rejects_is_rejected(sms, phone, text):
    with pytest.raises(SmsFailed):
        sms.send(phone, text)
    assert sms.messages() == []


def test_concurrent_sends_all_land_with_distinct_ids(sms):
    threads = [threading.Thread(target=sms.send, args=(f"1380013{n:04d}", "x")) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({m.message_id for m in sms.messages()}) == 40


def test_the_rpc_signature_matches_aliyuns_published_example():
    params = {
        "Timestamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert rpc_signature("testsecret", "GET", params) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_percent_encoding_follows_rfc_3986():
    assert percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


@pytest.fixture
def peer() -> Iterator[AliyunSmsPeer]:
    aliyun_peer = AliyunSmsPeer(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    with aliyun_peer:
        yield aliyun_peer
    assert aliyun_peer.failures == []


def aliyun(clock, peer: AliyunSmsPeer, timeout: str = "2", nonce: str = "45e25e9b-0a6f-4070-8c85-2956eda1b466"):
    """The sender as production configures it, its gateway_url the peer's."""
    config = AliyunSmsConfig.from_settings(
        {
            "access_key_id": ACCESS_KEY_ID,
            "access_key_secret": ACCESS_KEY_SECRET,
            "sign_name": "租机平台",
            "template_code": "SMS_154950909",
            "gateway_url": peer.endpoint,
            "timeout": timeout,
        }
    )
    return AliyunSms(config, clock=clock, nonces=lambda: nonce)


def test_the_peer_checks_signatures_as_aliyun_published_them():
    params = {
        "Timestamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert aliyun_signature("testsecret", "GET", params) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_send_sms_is_a_signed_get_and_the_biz_id_is_the_message_id(clock, peer):
    message_id = aliyun(clock, peer).send("13800138000", "您的验证码是 123456")

    assert message_id == "900619746936498401^0"
    (request,) = peer.received
    assert (request.method, request.path) == ("GET", "/")
    params = request.query
    signature = params.pop("Signature")
    assert params == {
        "AccessKeyId": ACCESS_KEY_ID,
        "Action": "SendSms",
        "Format": "JSON",
        "PhoneNumbers": "13800138000",
        "RegionId": "cn-hangzhou",
        "SignName": "租机平台",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_154950909",
        "TemplateParam": json.dumps({"content": "您的验证码是 123456"}, ensure_ascii=False),
        "Timestamp": "2026-01-31T02:00:00Z",
        "Version": "2017-05-25",
    }
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    expected = hmac.new(b"testsecret&", f"GET&%2F&{percent_encode(canonical)}".encode(), hashlib.sha1).digest()
    assert signature == base64.b64encode(expected).decode()
    assert "SignName=%E7%A7%9F%E6%9C%BA%E5%B9%B3%E5%8F%B0" in request.target
    assert "TemplateParam=%7B%22content%22%3A%20%22" in request.target


def test_an_aliyun_refusal_raises_with_its_code(clock, peer):
    peer.refuse = ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")

    with pytest.raises(SmsFailed, match="isv.MOBILE_NUMBER_ILLEGAL: 非法手机号") as refused:
        aliyun(clock, peer).send("1380013", "x")
    assert refused.value.code == "isv.MOBILE_NUMBER_ILLEGAL"


def test_a_nonce_used_twice_is_refused_as_aliyun_refuses_a_replay(clock, peer):
    aliyun(clock, peer).send("13800138000", "x")
    with pytest.raises(SmsFailed, match="SignatureNonceUsed"):
        aliyun(clock, peer).send("13800138000", "x")


def test_a_broken_answer_or_an_outage_raises(clock, peer):
    peer.route("GET", "/")(lambda request: PeerAnswer(502, b"Bad Gateway"))
    with pytest.raises(SmsFailed, match="HTTP 502"):
        aliyun(clock, peer).send("13800138000", "x")

    with AliyunSmsPeer() as closed:
        gone = closed.endpoint
    with pytest.raises(SmsFailed, match="unreachable") as failed:
        AliyunSms(replace(aliyun(clock, peer).config, endpoint=gone), clock=clock).send("13800138000", "x")
    assert not isinstance(failed.value, SmsUnconfirmed)


def test_the_platforms_own_message_id_goes_as_the_out_id_and_is_signed(clock, peer):
    aliyun(clock, peer).send("13800138000", "x", ref="message-1")
    assert peer.sent == [("13800138000", '{"content": "x"}', "message-1")]


def test_a_request_that_got_no_answer_may_have_been_sent_and_is_not_sent_again(clock, peer):
    """SendSms is not idempotent (Aliyun does not dedupe by OutId): one request, and the caller told it may have
    gone."""
    peer.delay = 1.0
    with pytest.raises(SmsUnconfirmed, match="did not answer"):
        aliyun(clock, peer, timeout="0.3").send("13800138000", "x")
    assert len(peer.received) == 1


def test_the_sandbox_keeps_the_platforms_message_id(sms):
    sms.send("13800138000", "a", ref="message-1")
    assert [m.ref for m in sms.messages()] == ["message-1"]
