"""moto's standalone S3 server as a STAND-IN for an S3-compatible store
(Garage, Ceph RGW, a provider's): none of those installs here. It speaks the
S3 HTTP API on a free loopback port; the service talks to it over real HTTP
through aiobotocore, and the tests look into the bucket with boto3, a client
of their own. It is not a real store: what it does not check (durability,
consistency under load) these tests do not prove."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.config_services import S3Settings

REGION = "us-east-1"
KEY_ID, SECRET = "cle-de-test", "secret-de-test"  # moto takes any


@dataclass
class MotoS3StandIn:
    endpoint_url: str
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def client(self) -> Any:
        """A plain boto3 client: the tests' own look into the bucket."""
        import boto3  # moto's own dependency

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )

    def new_bucket(self, prefix: str = "ecole") -> S3Settings:
        """A fresh, empty bucket, and the settings the service reads for it."""
        bucket = f"voix-{next(self._names)}"
        self.client().create_bucket(Bucket=bucket)
        return S3Settings(
            bucket=bucket,
            prefix=prefix,
            endpoint_url=self.endpoint_url,
            region=REGION,
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
        )

    def keys(self, bucket: str) -> list[str]:
        """Every key in the bucket, listed by a real S3 call."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3StandIn]:
    from moto.server import ThreadedMotoServer  # imported by the tests that use it only

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield MotoS3StandIn(f"http://{host}:{port}")
    finally:
        server.stop()
