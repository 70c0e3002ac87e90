"""Errors the adapters raise beyond the ports' own `InvalidSignature`."""

from __future__ import annotations

from leasecore.ports import InvalidSignature


class AdapterError(Exception):
    """Something an outside service, or its sandbox, could not do."""


class ProviderError(AdapterError):
    """The provider was unreachable or answered with an error; `code` is the provider's own error code when it gave
    one (Alipay's sub_code, WeChat Pay's code), which the message names too, so the 502 the API answers says it."""

    def __init__(self, message: str = "", code: object = "") -> None:
        super().__init__(message)
        self.code = code


class UnknownPayment(AdapterError):
    """The provider knows no payment by that id."""


class PaymentStateConflict(AdapterError):
    """The payment's state does not allow what was asked (paying a closed trade, closing a paid one)."""


class DeliveryFailed(AdapterError):
    """A provider notification could not be delivered to the merchant's notify URL."""


class MalformedNotification(InvalidSignature):
    """A callback that cannot be read as a payment outcome (missing fields, bad amounts, foreign merchant)."""


class SmsFailed(ProviderError):
    """The SMS provider refused or failed to send a message."""


class SmsUnconfirmed(SmsFailed):
    """The request reached the SMS provider but no answer came back: the message may have been sent."""


class BureauError(ProviderError):
    """The credit bureau could not answer with a score."""


class IdentityProviderError(ProviderError):
    """The identity provider could not check a person (unreachable, a bad image, no quota): nothing is decided.
    `code` is the provider's own error code when it gave one."""

    code: str

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class ParcelStateConflict(AdapterError):
    """A parcel cannot go back a stage, nor move once delivered."""


class SigningRefused(AdapterError):
    """The e-signature service will not sign: no signer name, no valid ID number, or no text."""
