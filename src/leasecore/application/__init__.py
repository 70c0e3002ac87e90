"""The application service: its methods are the platform's commands (load, decide, save, retry),
one module per concern; `LeaseApplication` is their sum."""

from __future__ import annotations

from leasecore.application.adjustments import AdjustmentCommands
from leasecore.application.auto_debit import AutoDebitCommands
from leasecore.application.base import Commands, command
from leasecore.application.catalog import CatalogCommands
from leasecore.application.collections import CollectionCommands
from leasecore.application.configuration import ConfigurationCommands
from leasecore.application.credit import CreditCommands
from leasecore.application.daily import DailyJob, DailyReport
from leasecore.application.payments import PaymentCommands
from leasecore.application.preauth import PreauthCommands
from leasecore.application.privacy import PrivacyCommands
from leasecore.application.staff import StaffCommands
from leasecore.application.support import SupportCommands

__all__ = ["Commands", "DailyReport", "LeaseApplication", "command"]


class LeaseApplication(
    CatalogCommands,
    StaffCommands,
    CreditCommands,
    ConfigurationCommands,
    PreauthCommands,
    AutoDebitCommands,
    PaymentCommands,
    AdjustmentCommands,
    CollectionCommands,
    SupportCommands,
    PrivacyCommands,
    DailyJob,
):
    """The credit rental platform's commands. Several aggregates changed by one command are
    saved together, so they commit atomically; conflicts are retried from a fresh load."""

    name = "leasecore"
