"""Customers and credit: identity, the revolving credit line, the operator's policies, facts and scoring."""
