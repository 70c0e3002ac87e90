"""Device categories (设备类型): a tree the operator edits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leasecore.errors import InvalidInput, NotFound
from leasecore.snapshots import TaggedSnapshot
from leasecore.values import derived_id

CATEGORY_TREE_ID = derived_id("category-tree")


@dataclass(frozen=True)
class Category:
    id: UUID
    name: str
    parent_id: UUID | None = None
    retired: bool = False


class CategoryTree(Aggregate):
    """Device categories (设备类型) as a tree the operator edits; one tree per platform."""

    Snapshot = TaggedSnapshot

    @staticmethod
    def create_id() -> UUID:
        return CATEGORY_TREE_ID

    class Planted(Aggregate.Created):
        """No more than that it happened."""

    @event(Planted)
    def __init__(self, timestamp: datetime) -> None:
        self.nodes: dict[UUID, Category] = {}

    def add(self, category_id: UUID, name: str, parent_id: UUID | None, now: datetime) -> None:
        """A new category goes under a live parent, or at the root."""
        if category_id in self.nodes:
            raise InvalidInput("id", f"category {category_id} exists already")
        if parent_id is not None:
            self._live(parent_id, "parent_id")
        self._added(category_id, _name(name), parent_id, timestamp=now)

    def rename(self, category_id: UUID, name: str, now: datetime) -> None:
        self._live(category_id, "id")
        self._renamed(category_id, _name(name), timestamp=now)

    def move(self, category_id: UUID, parent_id: UUID | None, now: datetime) -> None:
        """A category may move anywhere except under itself or its own descendants."""
        self._live(category_id, "id")
        if parent_id is not None:
            self._live(parent_id, "parent_id")
            if category_id in self.ancestry(parent_id):
                raise InvalidInput("parent_id", "a category cannot move under itself or its descendants")
        self._moved(category_id, parent_id, timestamp=now)

    def retire(self, category_id: UUID, now: datetime) -> None:
        """A retired category takes no new products; its children are retired with it."""
        self._live(category_id, "id")
        for node_id in self.subtree(category_id):
            if not self.nodes[node_id].retired:
                self._retired(node_id, timestamp=now)

    def ancestry(self, category_id: UUID) -> list[UUID]:
        """The category and its ancestors up to the root."""
        chain: list[UUID] = []
        current: UUID | None = category_id
        while current is not None:
            chain.append(current)
            current = self.nodes[current].parent_id
        return chain

    def subtree(self, category_id: UUID) -> list[UUID]:
        return [node for node in self.nodes if category_id in self.ancestry(node)]

    def is_live(self, category_id: UUID) -> bool:
        return category_id in self.nodes and not self.nodes[category_id].retired

    def _live(self, category_id: UUID, field_name: str) -> Category:
        node = self.nodes.get(category_id)
        if node is None:
            raise NotFound("category", category_id)
        if node.retired:
            raise InvalidInput(field_name, f"category {category_id} is retired")
        return node

    class CategoryAdded(Aggregate.Event):
        category_id: UUID
        name: str
        parent_id: UUID | None

    @event(CategoryAdded)
    def _added(self, category_id: UUID, name: str, parent_id: UUID | None, timestamp: datetime) -> None:
        self.nodes[category_id] = Category(category_id, name, parent_id)

    class CategoryRenamed(Aggregate.Event):
        category_id: UUID
        name: str

    @event(CategoryRenamed)
    def _renamed(self, category_id: UUID, name: str, timestamp: datetime) -> None:
        node = self.nodes[category_id]
        self.nodes[category_id] = Category(node.id, name, node.parent_id, node.retired)

    class CategoryMoved(Aggregate.Event):
        category_id: UUID
        parent_id: UUID | None

    @event(CategoryMoved)
    def _moved(self, category_id: UUID, parent_id: UUID | None, timestamp: datetime) -> None:
        node = self.nodes[category_id]
        self.nodes[category_id] = Category(node.id, node.name, parent_id, node.retired)

    class CategoryRetired(Aggregate.Event):
        category_id: UUID

    @event(CategoryRetired)
    def _retired(self, category_id: UUID, timestamp: datetime) -> None:
        node = self.nodes[category_id]
        self.nodes[category_id] = Category(node.id, node.name, node.parent_id, True)


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("name", "must not be empty")
    return name.strip()
