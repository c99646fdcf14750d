"""One contract for every media store: the local directory and S3 (against
moto's server, a STAND-IN for a real S3-compatible store). Whatever holds the
bytes, a reference gives back the same bytes, whole or by range, and a
deleted file is gone."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.media_store import MediaMissing, MediaStore, media_key
from bot.web.ranged import byte_range
from storage.media import CHUNK, LocalMediaStore
from storage.s3_media import S3MediaStore
from tests.s3_standin import MotoS3StandIn

STORES = ["local directory", "s3 (moto stand-in)"]


@pytest.fixture(params=STORES)
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, moto_s3: MotoS3StandIn
) -> AsyncIterator[MediaStore]:
    media: MediaStore
    if request.param == "local directory":
        media = LocalMediaStore(tmp_path / "media")
    else:
        media = await S3MediaStore.open(moto_s3.new_bucket())
    try:
        yield media
    finally:
        await media.close()


async def _joined(store: MediaStore, ref: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in store.open_range(ref, start, end)])


async def test_put_get_range_delete_by_reference(store: MediaStore, tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK + 12_345)  # more than one chunk
    ref = await store.put_bytes(data)
    assert ref == hashlib.sha256(data).hexdigest()
    assert await store.put_bytes(data) == ref  # the same content, the same file
    assert await store.exists(ref) and await store.size(ref) == len(data)
    assert await store.read(ref) == data
    copy = tmp_path / "copie"
    await store.fetch(ref, copy)
    assert copy.read_bytes() == data
    last = len(data) - 1
    for start, end in [(0, 0), (0, 1), (1000, 2000), (CHUNK - 1, CHUNK + 1), (last, last)]:
        assert await _joined(store, ref, start, end) == data[start : end + 1]
    assert await _joined(store, ref, 0, last) == data

    source = tmp_path / "prepare.mp3"
    source.write_bytes(b"ID3" + os.urandom(500))
    other = await store.put_file(source)
    assert await store.read(other) == source.read_bytes() and source.exists()
    assert sorted([r async for r in store.refs()]) == sorted([ref, other])

    await store.delete(ref)
    assert not await store.exists(ref) and await store.size(ref) is None
    with pytest.raises(MediaMissing):
        await store.read(ref)
    with pytest.raises(MediaMissing):
        await _joined(store, ref, 0, 1)
    with pytest.raises(MediaMissing):
        await store.fetch(ref, tmp_path / "rien")
    await store.delete(ref)  # twice: nothing happens
    assert [r async for r in store.refs()] == [other]


async def test_a_reference_is_a_hash_never_a_path(store: MediaStore) -> None:
    for bad in ("../../etc/passwd", "AB" * 32, "a" * 63):
        with pytest.raises(ValueError):
            await store.exists(bad)
    assert media_key("ab" * 32) == f"ab/{'ab' * 32}"


async def test_the_bucket_holds_the_same_layout_under_its_prefix(moto_s3: MotoS3StandIn) -> None:
    settings = moto_s3.new_bucket(prefix="academie/ecole-du-lac")
    store = await S3MediaStore.open(settings)
    try:
        ref = await store.put_bytes(b"une petite voix")
    finally:
        await store.close()
    assert moto_s3.keys(settings.bucket) == [f"academie/ecole-du-lac/{media_key(ref)}"]


@given(size=st.integers(1, 5000), first=st.integers(0, 6000), last=st.integers(0, 6000))
def test_a_byte_range_asks_what_python_slicing_gives(size: int, first: int, last: int) -> None:
    from aiohttp import web

    data = bytes(range(256)) * 20
    data = data[:size]
    for header, want in [
        (f"bytes={first}-{last}", data[first : last + 1]),
        (f"bytes={first}-", data[first:]),
        (f"bytes=-{last}", data[-last:] if last else b""),
    ]:
        try:
            got = byte_range(header, size)
        except web.HTTPRequestRangeNotSatisfiable:
            assert want == b""  # nothing there to send: 416, never an empty 206
            continue
        assert got is not None
        assert data[got[0] : got[1] + 1] == want
