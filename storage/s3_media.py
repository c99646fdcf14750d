"""Media files in an S3-compatible bucket (Garage, Ceph RGW, a provider's),
for several machines that share one store: ``[storage] media = "s3://…"``.

Keys are ``prefix/<key>`` (:func:`bot.media_store.media_key`): the same
layout as the local directory, so ``admin copy-storage`` moves files as they
are. One client (one connection pool) for the life of the service.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from bot.config_services import S3Settings
from bot.media_store import MediaMissing, media_key
from storage.media import CHUNK, file_sha256

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Unavailable(Exception):
    """The bucket cannot be reached or refuses us; the message is French."""


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING


class S3MediaStore:
    def __init__(self, client: Any, bucket: str, prefix: str, stack: AsyncExitStack) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._stack = stack

    @classmethod
    async def open(cls, settings: S3Settings) -> S3MediaStore:
        """A client for the configured bucket, checked once (a wrong key or
        bucket stops the start with one line, not the first recording)."""
        stack = AsyncExitStack()
        client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=settings.endpoint_url,
                region_name=settings.region or None,
                aws_access_key_id=settings.access_key_id or None,
                aws_secret_access_key=settings.secret_access_key,
                # Path-style: what self-hosted stores (Garage, Ceph) answer.
                config=Config(
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 3},
                    # Each listener's range holds a connection while it streams.
                    max_pool_connections=100,
                ),
            )
        )
        store = cls(client, settings.bucket, settings.prefix, stack)
        try:
            await client.head_bucket(Bucket=settings.bucket)
        except Exception as exc:
            await stack.aclose()
            raise S3Unavailable(
                f"seau « {settings.bucket} » injoignable sur {settings.endpoint_url} "
                f"({type(exc).__name__})"
            ) from None
        return store

    def key(self, ref: str) -> str:
        key = media_key(ref)
        return f"{self.prefix}/{key}" if self.prefix else key

    def local_file(self, ref: str) -> Path | None:
        return None  # the bytes are in the bucket: the web server streams them

    async def exists(self, ref: str) -> bool:
        return await self.size(ref) is not None

    async def size(self, ref: str) -> int | None:
        try:
            head = await self._client.head_object(Bucket=self.bucket, Key=self.key(ref))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return int(head["ContentLength"])

    async def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not await self.exists(sha):
            await self._client.put_object(Bucket=self.bucket, Key=self.key(sha), Body=data)
        return sha

    async def put_file(self, source: Path) -> str:
        sha = await asyncio.to_thread(file_sha256, source)
        if not await self.exists(sha):
            data = await asyncio.to_thread(source.read_bytes)
            await self._client.put_object(Bucket=self.bucket, Key=self.key(sha), Body=data)
        return sha

    async def _get(self, ref: str, **extra: str) -> Any:
        try:
            return await self._client.get_object(Bucket=self.bucket, Key=self.key(ref), **extra)
        except ClientError as exc:
            if _missing(exc):
                raise MediaMissing(ref) from None
            raise

    async def read(self, ref: str) -> bytes:
        resp = await self._get(ref)
        async with resp["Body"] as body:
            data: bytes = await body.read()
        return data

    async def fetch(self, ref: str, target: Path) -> None:
        resp = await self._get(ref)
        with target.open("wb") as out:
            async with resp["Body"] as body:
                while chunk := await body.read(CHUNK):
                    await asyncio.to_thread(out.write, chunk)

    async def open_range(self, ref: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        # A ranged GET: only the bytes asked travel from the bucket.
        resp = await self._get(ref, Range=f"bytes={start}-{end}")
        async with resp["Body"] as body:
            while chunk := await body.read(CHUNK):
                yield chunk

    async def delete(self, ref: str) -> None:
        await self._client.delete_object(Bucket=self.bucket, Key=self.key(ref))

    async def refs(self) -> AsyncIterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        start = f"{self.prefix}/" if self.prefix else ""
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", ()):
                name = str(item["Key"]).rsplit("/", 1)[-1]
                try:
                    if self.key(name) == item["Key"]:
                        yield name
                except ValueError:
                    continue  # not one of ours

    async def close(self) -> None:
        await self._stack.aclose()
