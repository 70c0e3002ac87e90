"""Money held and moved for an order: the deposit, payments through providers, refunds."""
