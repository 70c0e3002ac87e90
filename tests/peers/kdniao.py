"""A Kdniao (快递鸟) peer: checks the DataSign of every request it gets, answers instant queries (8001/1002) from
the parcels it was given and subscriptions (8008/1008) by keeping their CallBack, refuses as Kdniao does
(`Success: false` with a `Reason`) when told to, and signs pushes as Kdniao would send them.

Its signing is written out here, not imported from the adapter, so a mistake in one is not mirrored by the other."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.peers import LoopbackPeer, PeerAnswer, PeerRequest

PATH = "/Ebusiness/EbusinessOrderHandle.aspx"
E_BUSINESS_ID = "1237100"
APP_KEY = "518a73d8-1f7f-441a-b644-33e77b49d846"


def kdniao_sign(request_data: str, app_key: str) -> str:
    return base64.b64encode(hashlib.md5((request_data + app_key).encode()).hexdigest().encode()).decode()


@dataclass
class Parcel:
    state: str = "2"
    traces: list[tuple[str, str]] = field(default_factory=list)


class KdniaoPeer(LoopbackPeer):
    """The peer at `url + PATH`; `parcels` by (ShipperCode, LogisticCode); `refuse` makes the next answers
    `Success: false` with that Reason; `fail` answers that many HTTP 500s first; `delay` holds each answer."""

    def __init__(self, e_business_id: str = E_BUSINESS_ID, app_key: str = APP_KEY) -> None:
        super().__init__()
        self.e_business_id, self.app_key = e_business_id, app_key
        self.parcels: dict[tuple[str, str], Parcel] = {}
        self.subscriptions: dict[tuple[str, str], str] = {}
        self.refuse: str | None = None
        self.fail = 0
        self.delay = 0.0
        self.route("POST", PATH)(self._handle)

    @property
    def gateway_url(self) -> str:
        return self.url + PATH

    def requests(self, request_type: str) -> list[dict[str, Any]]:
        """The RequestData of each request of that type received."""
        return [
            json.loads(request.form["RequestData"])
            for request in self.received
            if request.form.get("RequestType") == request_type
        ]

    def push(self, *parcels: dict[str, Any], app_key: str | None = None, e_business_id: str | None = None) -> bytes:
        """A push of these parcels (`Data` items), signed with the AppKey, as Kdniao posts it."""
        data = {
            "EBusinessID": e_business_id or self.e_business_id,
            "PushTime": "2026-02-01 14:03:00",
            "Count": str(len(parcels)),
            "Data": list(parcels),
        }
        request_data = json.dumps(data, ensure_ascii=False)
        sign = kdniao_sign(request_data, app_key or self.app_key)
        return urlencode({"RequestData": request_data, "RequestType": "101", "DataSign": sign}).encode()

    def _handle(self, request: PeerRequest) -> PeerAnswer:
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            self.fail -= 1
            return PeerAnswer(500, b"busy")
        form = request.form
        assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
        assert form["EBusinessID"] == self.e_business_id, form
        assert form["DataType"] == "2", form
        assert form["DataSign"] == kdniao_sign(form["RequestData"], self.app_key), "DataSign does not verify"
        data = json.loads(form["RequestData"])
        if self.refuse is not None:
            return self._answer({"Success": False, "Reason": self.refuse})
        if form["RequestType"] in ("8001", "1002"):
            return self._query(data)
        if form["RequestType"] in ("8008", "1008"):
            self.subscriptions[(data["ShipperCode"], data["LogisticCode"])] = data["CallBack"]
            return self._answer({"Success": True, "Reason": "", "UpdateTime": "2026-01-31 10:00:00"})
        return self._answer({"Success": False, "Reason": f"unknown RequestType {form['RequestType']}"})

    def _query(self, data: dict[str, Any]) -> PeerAnswer:
        key = (data["ShipperCode"], data["LogisticCode"])
        parcel = self.parcels.get(key)
        if parcel is None:
            return self._answer({**_codes(data), "Success": False, "State": "0", "Reason": "暂无轨迹信息"})
        traces = [{"AcceptTime": at, "AcceptStation": station} for at, station in parcel.traces]
        return self._answer({**_codes(data), "Success": True, "State": parcel.state, "Traces": traces})

    def _answer(self, body: dict[str, Any]) -> PeerAnswer:
        return PeerAnswer.json(json.dumps({"EBusinessID": self.e_business_id, **body}, ensure_ascii=False))


def _codes(data: dict[str, Any]) -> dict[str, Any]:
    return {"OrderCode": "", "ShipperCode": data["ShipperCode"], "LogisticCode": data["LogisticCode"]}


def delivered(shipper_code: str, tracking_no: str, state: str = "3") -> dict[str, Any]:
    """A push's `Data` item: the parcel signed for (State 3), unless told another state."""
    return {
        "EBusinessID": E_BUSINESS_ID,
        "ShipperCode": shipper_code,
        "LogisticCode": tracking_no,
        "Success": True,
        "State": state,
        "StateEx": "301" if state == "3" else "2",
        "Location": "北京市",
        "Traces": [
            {"AcceptTime": "2026-01-31 18:00:00", "AcceptStation": "【深圳市】顺丰速运 已收取快件"},
            {"AcceptTime": "2026-02-01 14:02:11", "AcceptStation": "【北京市】已签收，签收人：本人"},
        ],
    }
