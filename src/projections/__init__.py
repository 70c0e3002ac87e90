"""Read models built from the event store into SQL tables (`*_view`), and the runner that keeps them."""

from __future__ import annotations

from projections.adjustments import AdjustmentsProjection
from projections.auto_debits import AutoDebitsProjection
from projections.catalog import CatalogProjection
from projections.collection_tasks import CollectionTasksProjection
from projections.conversations import ConversationsProjection
from projections.credit_lines import CreditLinesProjection
from projections.customers import CustomersProjection
from projections.finance import FinanceProjection
from projections.freezes import FreezesProjection
from projections.installments import InstallmentsProjection
from projections.orders import OrdersProjection
from projections.projection import Projection
from projections.refunds import RefundsProjection
from projections.review_queue import ReviewQueueProjection
from projections.staff import StaffProjection
from projections.stock import StockProjection


def read_models(timezone: str = "Asia/Shanghai") -> list[Projection]:
    """Every read model; finance books each movement on its day in `timezone`."""
    return [
        OrdersProjection(),
        InstallmentsProjection(),
        CreditLinesProjection(),
        FinanceProjection(timezone),
        StockProjection(),
        ReviewQueueProjection(),
        CollectionTasksProjection(),
        CatalogProjection(),
        RefundsProjection(),
        CustomersProjection(),
        AdjustmentsProjection(),
        ConversationsProjection(),
        StaffProjection(),
        AutoDebitsProjection(),
        FreezesProjection(),
    ]
