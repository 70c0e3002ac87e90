"""The sandbox e-signature service: one contract per order, its text fixed by a SHA-256 digest. Its sign flows
complete at once: there is no page to sign on and no callback; the signed document is the text's UTF-8 bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from adapters.china_time import china_date
from adapters.errors import SigningRefused
from adapters.identity.gb11643 import id_number_problem, normalize_id_number
from adapters.sandbox_store import MemorySandboxStore, SandboxStore, from_document, to_document
from leasecore.clock import SystemClock
from leasecore.ports import (
    Acknowledgement,
    Clock,
    InvalidSignature,
    SignedContract,
    SignedDocument,
    SigningOutcome,
    SigningSession,
)

DOCUMENTS_URL = "https://sandbox.leasecore.invalid/contracts"
PROVIDER = "sandbox"
CONTRACT = "contract"
"""The kind of document the e-signature sandbox keeps: each order's signed contract, by the order's id."""
CONTRACT_PREFIX = "sandbox-contract-"


@dataclass(frozen=True)
class SandboxContract:
    """What the sandbox keeps of a signed contract."""

    order_id: UUID
    signer_name: str
    signer_id_number: str
    text: str
    sha256: str
    signed: SignedContract


class SandboxESignature:
    """An `ESignature` port: signing an order's contract again returns the contract already signed."""

    provider = PROVIDER
    acknowledgement = Acknowledgement(200, "ok", "text/plain")

    def __init__(
        self, clock: Clock | None = None, *, documents_url: str = DOCUMENTS_URL, store: SandboxStore | None = None
    ) -> None:
        self._clock = clock or SystemClock()
        self._documents_url = documents_url.rstrip("/")
        self._store: SandboxStore = store or MemorySandboxStore()

    def sign(self, order_id: UUID, signer_name: str, signer_id_number: str, text: str) -> SignedContract:
        """A named signer with a valid ID number signs a non-empty text, once per order."""
        with self._store.transaction() as documents:
            existing = documents.get(CONTRACT, str(order_id))
            if existing is not None:
                return from_document(SandboxContract, existing).signed
            contract = self._new_contract(order_id, signer_name, signer_id_number, text)
            documents.put(CONTRACT, str(order_id), to_document(contract))
            return contract.signed

    def start_signing(
        self,
        order_id: UUID,
        signer_name: str,
        signer_id_number: str,
        signer_phone: str,
        text: str,
        notify_url: str,
        return_url: str = "",
    ) -> SigningSession:
        """Signed at once, as `sign`: the session is already complete, its flow the contract's id."""
        return SigningSession(self.sign(order_id, signer_name, signer_id_number, text).contract_id)

    def resume_signing(self, flow_id: str, signer_phone: str, return_url: str = "") -> SigningSession:
        self._by_flow(flow_id)
        return SigningSession(flow_id)

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> SigningOutcome:
        """The sandbox signs at once and calls nobody back: any callback claiming to be its own is forged."""
        raise InvalidSignature("the sandbox e-signature service sends no callbacks")

    def signing_outcome(self, flow_id: str) -> SigningOutcome:
        """A sandbox flow is signed the moment it opens."""
        self._by_flow(flow_id)
        return SigningOutcome(flow_id, completed=True)

    def signed_document(self, flow_id: str) -> SignedDocument:
        """The signed document is the contract's text in UTF-8, named by the contract's id."""
        contract = self._by_flow(flow_id)
        return SignedDocument(f"{flow_id}.pdf", contract.sha256, contract.signed.document_url)

    def _by_flow(self, flow_id: str) -> SandboxContract:
        """A flow is named after its order (`sandbox-contract-{order id}`)."""
        found = None
        if flow_id.startswith(CONTRACT_PREFIX):
            try:
                found = self._stored(UUID(hex=flow_id.removeprefix(CONTRACT_PREFIX)))
            except ValueError:
                found = None
        if found is None or found.signed.contract_id != flow_id:
            raise SigningRefused(f"no sandbox sign flow {flow_id}")
        return found

    def contract(self, order_id: UUID) -> SandboxContract:
        found = self._stored(order_id)
        if found is None:
            raise KeyError(f"no contract signed for order {order_id}")
        return found

    def _stored(self, order_id: UUID) -> SandboxContract | None:
        document = self._store.get(CONTRACT, str(order_id))
        return None if document is None else from_document(SandboxContract, document)

    def matches(self, order_id: UUID, text: str) -> bool:
        """Whether `text` is, byte for byte, the text that was signed for the order."""
        return self.contract(order_id).sha256 == text_digest(text)

    def _new_contract(self, order_id: UUID, signer_name: str, signer_id_number: str, text: str) -> SandboxContract:
        now = self._clock.now()
        number = normalize_id_number(signer_id_number)
        require_signable(signer_name, number, text, now)
        digest = text_digest(text)
        contract_id = f"{CONTRACT_PREFIX}{order_id.hex}"
        url = f"{self._documents_url}/{contract_id}.pdf?sha256={digest}"
        signed = SignedContract(contract_id, now, url)
        return SandboxContract(order_id, signer_name.strip(), number, text, digest, signed)


def text_digest(text: str) -> str:
    """Hex SHA-256 of the contract text in UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def require_signable(signer_name: str, id_number: str, text: str, now: datetime) -> None:
    if not signer_name.strip():
        raise SigningRefused("the signer has no name")
    problem = id_number_problem(id_number, china_date(now))
    if problem is not None:
        raise SigningRefused(f"the signer's {problem}")
    if not text.strip():
        raise SigningRefused("the contract has no text")
