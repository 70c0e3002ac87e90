"""The catalog the operator edits: categories, products, SKUs, plans and stock units."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID, uuid4

from leasecore.application.base import Commands, command
from leasecore.catalog import (
    Inventory,
    LongTermOffer,
    Product,
    ProductDetails,
    Protection,
    ShortTermOffer,
    Sku,
)
from leasecore.errors import InvalidInput


class CatalogCommands(Commands):
    """The catalog the operator edits: categories, products, SKUs, plans and stock units."""

    @command
    def add_category(self, name: str, parent_id: UUID | None = None, category_id: UUID | None = None) -> UUID:
        """A new category; under an id the tree has already (the same request again), nothing more."""
        tree = self.categories()
        if category_id is not None and category_id in tree.nodes:
            return category_id
        category_id = category_id or uuid4()
        tree.add(category_id, name, parent_id, self.clock.now())
        self.save(tree)
        return category_id

    @command
    def rename_category(self, category_id: UUID, name: str) -> None:
        tree = self.categories()
        tree.rename(category_id, name, self.clock.now())
        self.save(tree)

    @command
    def move_category(self, category_id: UUID, parent_id: UUID | None) -> None:
        tree = self.categories()
        tree.move(category_id, parent_id, self.clock.now())
        self.save(tree)

    @command
    def retire_category(self, category_id: UUID) -> None:
        tree = self.categories()
        tree.retire(category_id, self.clock.now())
        self.save(tree)

    @command
    def list_product(
        self,
        details: ProductDetails,
        long_term: LongTermOffer | None,
        short_term: ShortTermOffer | None,
        protection: Protection,
        skus: Iterable[Sku] = (),
        product_id: UUID | None = None,
    ) -> UUID:
        """A new product in a live category, with its SKUs, each with an empty stock; under a `product_id` that exists
        already (the same request again), nothing more."""
        if product_id is not None and product_id in self.repository:
            return product_id
        if not self.categories().is_live(details.category_id):
            raise InvalidInput("category_id", f"category {details.category_id} does not exist or is retired")
        now = self.clock.now()
        product = Product.list(details, long_term, short_term, protection, now, product_id=product_id)
        inventories = []
        for sku in skus:
            product.add_sku(sku, now)
            inventories.append(Inventory(sku.id, product.id, timestamp=now))
        self.save(product, *inventories)
        return product.id

    @command
    def add_sku(self, product_id: UUID, sku: Sku) -> UUID:
        """A new SKU with an empty stock; one the product has under that id already (the same request again) is
        left as it is."""
        product = self.product(product_id)
        if sku.id in product.skus:
            return sku.id
        now = self.clock.now()
        product.add_sku(sku, now)
        self.save(product, Inventory(sku.id, product.id, timestamp=now))
        return sku.id

    @command
    def reprice_sku(self, product_id: UUID, sku: Sku) -> None:
        product = self.product(product_id)
        product.reprice_sku(sku, self.clock.now())
        self.save(product)

    @command
    def revise_product(self, product_id: UUID, details: ProductDetails, protection: Protection) -> None:
        if not self.categories().is_live(details.category_id):
            raise InvalidInput("category_id", f"category {details.category_id} does not exist or is retired")
        product = self.product(product_id)
        product.revise(details, protection, self.clock.now())
        self.save(product)

    @command
    def change_plans(
        self, product_id: UUID, long_term: LongTermOffer | None, short_term: ShortTermOffer | None
    ) -> None:
        product = self.product(product_id)
        product.change_plans(long_term, short_term, self.clock.now())
        self.save(product)

    @command
    def retire_product(self, product_id: UUID) -> None:
        product = self.product(product_id)
        product.retire(self.clock.now())
        self.save(product)
