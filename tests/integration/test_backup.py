"""`leasecore backup` taken while the service places orders, `leasecore restore` into a fresh database, and the
restored service: on SQLite (the online backup API) and on PostgreSQL (`pg_dump` in an exported snapshot).

The source keeps moving after the backup, so its read models at the end are not the backup's. The equality that
holds without racing it: the restored event store is exactly the source's events up to the backup's last
notification id (byte for byte, none missing, none extra); the read models the backup carried, caught up there
incrementally, equal a `projections rebuild` of them; and the orders the load never touched read the same in the
source as in the restored store. Then the restored service serves the old orders to their old tokens, answers a
replayed idempotent request from the restored `api_idempotency` records, and accepts new orders after the last id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy
from sqlalchemy import text

from api.backup import EVENTS_TABLE, BackupError, back_up, restore
from api.cli import main
from api.personal_keys import personal_metadata
from api.store import api_metadata
from projections.store import ViewStore
from tests.conftest import POSTGRES_URL
from tests.e2e.support import Api, Customer, World, running
from tests.integration.test_projections import snapshot

Event = tuple[int, Any, int, str, bytes]


def events(url: str) -> list[Event]:
    """Every stored event as its row: notification id, originator, version, topic and the stored bytes."""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(f"SELECT id, originator_id, originator_version, topic, state FROM {EVENTS_TABLE} ORDER BY id")
            )
            return [(row[0], row[1], row[2], row[3], bytes(row[4])) for row in rows]
    finally:
        engine.dispose()


def read_models(url: str) -> dict[str, list[tuple[Any, ...]]]:
    views = ViewStore.for_database(url)
    try:
        return snapshot(views)
    finally:
        views.close()


def cli(*argv: str) -> None:
    assert main(list(argv)) == 0, argv


class Load:
    """A customer placing orders one after another on a thread of its own, until told to stop (or `most` placed,
    which the SKU's units cover: a slow `pg_dump` must not see the load run out before it ends)."""

    most = 300

    def __init__(self, api: Api, who: Customer, world: World) -> None:
        self.api, self.who, self.world = api, who, world
        self.placed: list[str] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set() and len(self.placed) < self.most:
            answer = self.api.http.post(
                "/v1/orders", headers=self.who.headers, json=self.api.order_body(self.world.sku_id, deposit_mode="full")
            )
            if answer.status_code != 201:
                self.failures.append(f"{answer.status_code} {answer.text}")
                return
            self.placed.append(answer.json()["id"])

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        deadline = threading.Event()
        for _ in range(int(timeout * 100)):
            if len(self.placed) >= count or self.failures or not self.thread.is_alive():
                break
            deadline.wait(0.01)
        assert not self.failures, self.failures
        assert len(self.placed) >= count, f"the load placed {len(self.placed)} order(s)"

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join(30)


class BackupBehaviour:
    """Abstract: subclasses give the source's `database_url` and an empty database to restore into."""

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def fresh_url(self) -> str:
        raise NotImplementedError

    @pytest.mark.slow
    def test_a_backup_taken_under_load_restores_rebuilds_to_the_same_read_models_and_serves(
        self, database_url: str, fresh_url: str, tmp_path: Path
    ) -> None:
        backup = tmp_path / "leasecore.backup"
        with running(database_url) as api:
            world = api.set_up_world(units=Load.most + 20)
            first, loader = api.customer(), api.customer()
            kept = {**first.headers, "Idempotency-Key": "first-order"}
            before = api.post("/v1/orders", 201, headers=kept, json=api.order_body(world.sku_id))
            api.pay(first, before["id"], "checkout")
            paid = api.order(first, before["id"])
            with Load(api, loader, world) as load:
                load.wait_for(3)
                cli("backup", "--to", str(backup), "--database-url", database_url)
                load.wait_for(len(load.placed) + 3)
            api.service.platform.runner.catch_up()
            untouched = {before["id"], *load.placed[:2]}
            source_orders = [row for row in read_models(database_url)["orders_view"] if str(row[0]) in untouched]
            source_events = events(database_url)

        cli("restore", "--from", str(backup), "--database-url", fresh_url)
        restored_events = events(fresh_url)
        last = restored_events[-1][0]
        assert restored_events == [event for event in source_events if event[0] <= last]
        assert source_events[-1][0] > last, "the load went on after the backup"

        cli("projections", "catch-up", "--database-url", fresh_url)
        incremental = read_models(fresh_url)
        cli("projections", "rebuild", "--database-url", fresh_url)
        rebuilt = read_models(fresh_url)
        assert rebuilt == incremental
        assert [row for row in rebuilt["orders_view"] if str(row[0]) in untouched] == source_orders
        assert len(source_orders) == 3

        with running(fresh_url) as served:
            assert served.order(first, before["id"]) == paid
            replayed = served.post("/v1/orders", 201, headers=kept, json=api.order_body(world.sku_id))
            assert replayed["id"] == before["id"]
            after = served.place(first, served.order_body(world.sku_id, deposit_mode="full"))
            assert served.order(first, after["id"])["status"] == "pending_payment"
        assert events(fresh_url)[-1][0] > last

    def test_a_backup_never_overwrites_a_file_and_a_restore_never_a_database(
        self, database_url: str, fresh_url: str, tmp_path: Path
    ) -> None:
        with running(database_url) as api:
            api.set_up_world(units=1)
        backup = tmp_path / "leasecore.backup"
        made = back_up(database_url, backup)
        assert made.events > 0 and made.last_notification_id == events(database_url)[-1][0]
        with pytest.raises(BackupError, match="exists"):
            back_up(database_url, backup)
        assert restore(backup, fresh_url).last_notification_id == made.last_notification_id
        with pytest.raises(BackupError, match="restore into"):
            restore(backup, fresh_url)
        assert events(fresh_url) == events(database_url)


def test_the_operations_guide_says_of_every_table_the_service_keeps_whether_a_backup_must_hold_it() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    kept = [EVENTS_TABLE, *api_metadata.tables, *personal_metadata.tables]
    assert [name for name in kept if f"`{name}`" not in guide] == []


def test_an_in_memory_database_or_a_missing_directory_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", "--to", str(tmp_path / "b"), "--database-url", "memory:"]) == 1
    assert capsys.readouterr().err.startswith("leasecore: cannot back up 'memory:'")
    nowhere = tmp_path / "absent" / "b"
    assert main(["backup", "--to", str(nowhere), "--database-url", f"sqlite:///{tmp_path}/x.db"]) == 1
    assert capsys.readouterr().err == f"leasecore: no directory {nowhere.parent} to write the backup in\n"


class TestSqlite(BackupBehaviour):
    @pytest.fixture
    def database_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path}/source.db"

    @pytest.fixture
    def fresh_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path}/restored.db"

    def test_a_file_that_is_not_a_database_is_refused_in_one_line(
        self, fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        garbage = tmp_path / "garbage.backup"
        garbage.write_bytes(b"not a database" * 100)
        assert main(["restore", "--from", str(garbage), "--database-url", fresh_url]) == 1
        assert capsys.readouterr().err.startswith(f"leasecore: {garbage} is not a leasecore SQLite database")
        assert not Path(fresh_url.removeprefix("sqlite:///")).exists()


class TestPostgres(BackupBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

    def test_a_restore_fills_an_empty_schema_of_the_dumped_name_and_refuses_a_database_holding_that_schema(
        self, database_url: str, fresh_url: str, tmp_path: Path
    ) -> None:
        with running(database_url) as api:
            api.set_up_world(units=1)
        backup = back_up(database_url, tmp_path / "leasecore.backup")
        dumped = sqlalchemy.make_url(database_url).query["options"]
        assert isinstance(dumped, str)
        schema = dumped.removeprefix("-csearch_path=")
        same_name = sqlalchemy.make_url(fresh_url).update_query_dict({"options": dumped})
        engine = sqlalchemy.create_engine(same_name, poolclass=sqlalchemy.pool.NullPool)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        engine.dispose()
        with pytest.raises(BackupError, match=f"the backup's schema {schema} exists"):
            restore(backup.path, fresh_url)
        url = same_name.render_as_string(hide_password=False)
        assert restore(backup.path, url).last_notification_id == backup.last_notification_id
        assert events(url) == events(database_url)

    @pytest.fixture
    def fresh_url(self, postgres_url: str) -> Iterator[str]:
        """A database of its own (the dumped schema's name is free there), its tables restored into schema
        `leasecore`: the restore renames the dumped schema to the URL's search_path."""
        server = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"restore_{uuid4().hex[:12]}"
        try:
            with server.connect() as connection:
                connection.exec_driver_sql(f"CREATE DATABASE {name}")
            url = sqlalchemy.make_url(POSTGRES_URL).set(database=name)
            yield url.update_query_dict({"options": "-csearch_path=leasecore"}).render_as_string(hide_password=False)
        finally:
            with server.connect() as connection:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            server.dispose()
