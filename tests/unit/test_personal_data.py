"""Personal fields sealed per customer in the stored events: they read back as written, read "erased" once the
customer's keys are erased, and fields stored plain by earlier code read as they were."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from cryptography.exceptions import InvalidTag
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex
from hypothesis import given
from hypothesis import strategies as st

from adapters.personal_data.keys import AesGcmPersonalData, MasterKeyMissing, MemoryKeys
from api.bootstrap import master_key
from leasecore.credit.customer import Customer, IdentityCheck
from leasecore.personal import PersonalDataMapper
from leasecore.snapshots import TaggedSnapshot
from leasecore.support import Conversation
from leasecore.transcodings import register_transcodings

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def transcoder() -> JSONTranscoder:
    coder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        coder.register(transcoding)
    register_transcodings(coder)
    return coder


def mappers() -> tuple[PersonalDataMapper, AesGcmPersonalData]:
    cipher = AesGcmPersonalData(MemoryKeys())
    return PersonalDataMapper(transcoder(), cipher, lambda _: None), cipher


def verified(phone: str = "13912345678", name: str = "韩梅梅", id_number: str = "11010519491231002X") -> Customer:
    customer = Customer(phone, timestamp=NOW)
    customer.record_identity(IdentityCheck(name, id_number, True, reference="ref-1"), NOW)
    return customer


def test_personal_fields_are_stored_sealed_and_read_back_as_written() -> None:
    mapper, _ = mappers()
    events = verified().collect_events()
    stored = [mapper.to_stored_event(event) for event in events]
    blob = b"".join(s.state for s in stored)
    for plain in ("13912345678", "11010519491231002X", "ref-1"):
        assert plain.encode() not in blob
    assert "韩梅梅".encode() not in blob and b"\\u97e9" not in blob
    read = [mapper.to_domain_event(s) for s in stored]
    assert read[0].phone == "13912345678"  # type: ignore[attr-defined]
    assert (read[1].name, read[1].id_number, read[1].reference) == ("韩梅梅", "11010519491231002X", "ref-1")  # type: ignore[attr-defined]


def test_once_the_customer_is_erased_the_fields_read_erased_and_the_rest_stays() -> None:
    mapper, cipher = mappers()
    customer = verified()
    stored = [mapper.to_stored_event(event) for event in customer.collect_events()]
    assert cipher.erase(customer.id) == 1
    read = [mapper.to_domain_event(s) for s in stored]
    assert read[0].phone == "erased"  # type: ignore[attr-defined]
    assert (read[1].name, read[1].id_number, read[1].valid_until) == ("erased", "erased", None)  # type: ignore[attr-defined]
    assert read[1].provider == "sandbox" and read[1].originator_id == customer.id  # type: ignore[attr-defined]
    assert cipher.erase(customer.id) == 0


def test_an_event_stored_plain_by_earlier_code_reads_as_it_was() -> None:
    plain_mapper: Mapper[UUID] = Mapper(transcoder())
    stored = [plain_mapper.to_stored_event(event) for event in verified().collect_events()]
    mapper, _ = mappers()
    assert mapper.to_domain_event(stored[0]).phone == "13912345678"  # type: ignore[attr-defined]
    assert mapper.to_domain_event(stored[1]).name == "韩梅梅"  # type: ignore[attr-defined]


def test_a_sealed_field_moved_to_another_aggregate_does_not_open() -> None:
    mapper, _ = mappers()
    first, second = (mapper.to_stored_event(verified(phone).collect_events()[0]) for phone in ("139", "138"))
    moved = json.loads(second.state)
    moved["phone"] = json.loads(first.state)["phone"]
    forged = type(second)(second.originator_id, second.originator_version, second.topic, json.dumps(moved).encode())
    with pytest.raises(InvalidTag):
        mapper.to_domain_event(forged)


def test_a_conversations_later_messages_are_sealed_under_its_customers_key() -> None:
    cipher = AesGcmPersonalData(MemoryKeys())
    customer_id = uuid4()
    conversation = Conversation.open(uuid4(), customer_id, "subject", "first words", None, NOW)
    conversation.write("call me on 13912345678", NOW)
    owners = {conversation.id: customer_id}
    mapper = PersonalDataMapper(transcoder(), cipher, owners.get)
    stored = [mapper.to_stored_event(event) for event in conversation.collect_events()]
    assert b"13912345678" not in stored[1].state
    cipher.erase(customer_id)
    assert [mapper.to_domain_event(s).text for s in stored] == ["erased", "erased"]  # type: ignore[attr-defined]


@given(phone=st.text(), name=st.text(), id_number=st.text())
def test_any_unicode_round_trips(phone: str, name: str, id_number: str) -> None:
    mapper, _ = mappers()
    events = verified(phone, name, id_number).collect_events()
    read = [mapper.to_domain_event(mapper.to_stored_event(event)) for event in events]
    assert read[0].phone == phone  # type: ignore[attr-defined]
    assert (read[1].name, read[1].id_number) == (name, id_number)  # type: ignore[attr-defined]


def test_reading_an_erasure_drops_the_keys_another_process_kept_in_memory() -> None:
    keys = MemoryKeys()
    here, there = AesGcmPersonalData(keys), AesGcmPersonalData(keys)
    mapper_here = PersonalDataMapper(transcoder(), here, lambda _: None)
    mapper_there = PersonalDataMapper(transcoder(), there, lambda _: None)
    customer = verified()
    stored = [mapper_here.to_stored_event(event) for event in customer.collect_events()]
    assert mapper_there.to_domain_event(stored[0]).phone == "13912345678"  # type: ignore[attr-defined]
    here.erase(customer.id)
    assert mapper_there.to_domain_event(stored[0]).phone == "13912345678"  # type: ignore[attr-defined]  # kept a while
    customer.erase_personal_data("admin", "asked", NOW)
    mapper_there.to_domain_event(mapper_here.to_stored_event(customer.collect_events()[0]))
    assert mapper_there.to_domain_event(stored[0]).phone == "erased"  # type: ignore[attr-defined]


def test_a_snapshot_is_stored_sealed_and_loads_the_same_aggregate_or_erased() -> None:
    mapper, cipher = mappers()
    customer = verified()
    customer.collect_events()
    stored = mapper.to_stored_event(TaggedSnapshot.take(customer))
    assert b"13912345678" not in stored.state and b"11010519491231002X" not in stored.state
    loaded = mapper.to_domain_event(stored).mutate(None)  # type: ignore[attr-defined]
    assert (loaded.phone, loaded.name, loaded.id_number, loaded.orders) == (
        "13912345678",
        "韩梅梅",
        "11010519491231002X",
        (),
    )
    cipher.erase(customer.id)
    erased = mapper.to_domain_event(stored).mutate(None)  # type: ignore[attr-defined]
    assert (erased.phone, erased.name, erased.id_number, erased.identity_status) == (
        "erased",
        "erased",
        "erased",
        customer.identity_status,
    )


def test_a_snapshot_stored_plain_by_earlier_code_is_sealed_in_place_and_reads_the_same() -> None:
    plain_mapper: Mapper[UUID] = Mapper(transcoder())
    plain = plain_mapper.to_stored_event(TaggedSnapshot.take(verified()))
    mapper, _ = mappers()
    state = mapper.sealed_state(plain)
    assert state is not None and b"13912345678" not in state
    sealed = type(plain)(plain.originator_id, plain.originator_version, plain.topic, state)
    assert mapper.sealed_state(sealed) is None
    assert vars(mapper.to_domain_event(sealed).mutate(None)) == vars(mapper.to_domain_event(plain).mutate(None))  # type: ignore[attr-defined]


def test_keys_kept_wrapped_under_the_master_key_open_only_with_it() -> None:
    keys, master = MemoryKeys(), b"m" * 32
    cipher = AesGcmPersonalData(keys, master=master)
    customer_id = uuid4()
    sealed = cipher.seal(customer_id, b"13912345678", b"here")
    (kept,) = [key for owner, key in keys.rows.values() if owner == customer_id]
    assert len(kept) == 62 and kept.startswith(b"w1")
    assert AesGcmPersonalData(keys, master=master).open(sealed, b"here") == b"13912345678"
    with pytest.raises(MasterKeyMissing, match="LEASECORE_PERSONAL_DATA_KEY"):
        AesGcmPersonalData(keys).open(sealed, b"here")
    with pytest.raises(MasterKeyMissing, match="another master key"):
        AesGcmPersonalData(keys, master=b"n" * 32).open(sealed, b"here")


def test_keys_kept_before_a_master_key_was_set_still_open() -> None:
    keys = MemoryKeys()
    sealed = AesGcmPersonalData(keys).seal(customer_id := uuid4(), b"13912345678", b"here")
    wrapping = AesGcmPersonalData(keys, master=b"m" * 32)
    assert wrapping.open(sealed, b"here") == b"13912345678"
    assert wrapping.seal(customer_id, b"x", b"here").key_id == sealed.key_id


def test_the_master_key_setting_is_32_bytes_in_base64() -> None:
    assert master_key(base64.b64encode(b"k" * 32).decode()) == b"k" * 32
    assert master_key(None) is None
    with pytest.raises(ValueError, match="LEASECORE_PERSONAL_DATA_KEY is not base64"):
        master_key("not base64!")
    with pytest.raises(ValueError, match="must hold 32 bytes"):
        master_key(base64.b64encode(b"short").decode())
