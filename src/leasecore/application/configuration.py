"""Configuration documents: replaced whole, validated as one, versioned."""

from __future__ import annotations

from typing import Any

from leasecore.application.base import Commands, command
from leasecore.configuration import Configuration
from leasecore.credit.policy import CreditLevels, WaiverPolicy
from leasecore.credit.scoring import ScoringRules
from leasecore.errors import InvalidInput, NotFound
from leasecore.lease.billing import BillingPolicy


class ConfigurationCommands(Commands):
    """Configuration documents: replaced whole, validated as one, versioned."""

    def configure(self, name: str, document: Any, changed_by: str = "system") -> int:
        """Replace a configuration document, validated as a whole; returns its new version."""
        canonical = self._validated(name, document)
        return self._save_document(name, canonical, changed_by)

    @command
    def _save_document(self, name: str, canonical: dict[str, Any], changed_by: str) -> int:
        now = self.clock.now()
        try:
            config = self.get(Configuration, Configuration.create_id(name), "configuration")
            config.revise(canonical, changed_by, now)
        except NotFound:
            config = Configuration(name, canonical, changed_by, timestamp=now)
        self.save(config)
        return config.version

    def _validated(self, name: str, document: Any) -> dict[str, Any]:
        if name == "billing":
            return BillingPolicy.from_document(document).to_document()
        if name == "waiver-policy":
            return WaiverPolicy.from_document(document, self.score_range()).to_document()
        if name == "credit-levels":
            return CreditLevels.from_document(document, self.score_range()).to_document()
        if name == "scoring-rules":
            rules = ScoringRules.from_document(document)
            for other, parse in (
                ("credit-levels", CreditLevels.from_document),
                ("waiver-policy", WaiverPolicy.from_document),
            ):
                try:
                    parse(self.document(other)[1], rules.range)
                except NotFound:
                    continue
                except LookupError:
                    raise
                except Exception as error:
                    raise InvalidInput("range", f"the current {other} no longer fits this range: {error}") from None
            return rules.to_document()
        raise NotFound("configuration", name)
