"""Adapters: one package per capability behind the ports of `leasecore.ports`, each with a sandbox and vendors."""
