"""Attachments: the stored reference, download + decrypt, upload + encrypt.

An :class:`~bot.ports.Attachment` ``ref`` is a JSON string::

    {"mxc": "mxc://server/id"}                                  # plain
    {"mxc": "mxc://...", "key": "<jwk k>", "iv": "...", "sha256": "..."}  # encrypted

It holds everything needed to fetch and decrypt the file later, also after a
restart (the keys of an encrypted attachment travel in the event itself).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from nio import AsyncClient, DownloadError, UploadError, UploadResponse
from nio.crypto.attachments import decrypt_attachment

from adapters.matrix.errors import NETWORK_ERRORS, http_status
from bot.ports import AttachmentUnavailable, PermanentFailure, TransientFailure


@dataclass(frozen=True)
class MediaRef:
    mxc: str
    key: str | None = None
    iv: str | None = None
    sha256: str | None = None

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    def dumps(self) -> str:
        data = {"mxc": self.mxc}
        if self.key is not None:
            data.update(key=self.key, iv=self.iv or "", sha256=self.sha256 or "")
        return json.dumps(data, sort_keys=True)

    @classmethod
    def loads(cls, ref: str) -> MediaRef:
        try:
            data = json.loads(ref)
            mxc = str(data["mxc"])
        except (ValueError, KeyError, TypeError) as err:
            raise AttachmentUnavailable("bad_ref") from err
        if not mxc.startswith("mxc://"):
            raise AttachmentUnavailable("bad_ref")
        if "key" in data:
            return cls(mxc, str(data["key"]), str(data["iv"]), str(data["sha256"]))
        return cls(mxc)

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> MediaRef | None:
        """From an event's content: ``file`` (encrypted) or ``url``."""
        file_info = content.get("file")
        if isinstance(file_info, dict):
            try:
                return cls(
                    str(file_info["url"]),
                    str(file_info["key"]["k"]),
                    str(file_info["iv"]),
                    str(file_info["hashes"]["sha256"]),
                )
            except (KeyError, TypeError):
                return None
        url = content.get("url")
        if isinstance(url, str) and url.startswith("mxc://"):
            return cls(url)
        return None


async def download(client: AsyncClient, ref: str, max_bytes: int | None) -> bytes:
    media = MediaRef.loads(ref)
    try:
        resp = await client.download(mxc=media.mxc)
    except NETWORK_ERRORS as err:
        raise TransientFailure("network", type(err).__name__) from err
    if isinstance(resp, DownloadError):
        status = http_status(resp)
        if status >= 500:
            raise TransientFailure("server_error", str(status))
        raise AttachmentUnavailable("not_found", str(resp.status_code or status))
    body = resp.body
    if not isinstance(body, bytes):
        raise AttachmentUnavailable("no_body")
    if max_bytes is not None and len(body) > max_bytes:
        raise AttachmentUnavailable("too_large", f"{len(body)} bytes")
    if media.encrypted:
        try:
            plain: bytes = decrypt_attachment(body, media.key, media.sha256, media.iv)
        except Exception as err:  # nio raises EncryptionError or ValueError
            raise AttachmentUnavailable("decrypt_failed", type(err).__name__) from err
        return plain
    return body


@dataclass(frozen=True)
class Uploaded:
    """The content fields of an uploaded file: ``url`` or ``file``."""

    mxc: str
    fields: dict[str, Any]


async def upload(
    client: AsyncClient, data: bytes, *, mime: str, filename: str, encrypt: bool
) -> Uploaded:
    try:
        resp, keys = await client.upload(
            io.BytesIO(data),
            content_type="application/octet-stream" if encrypt else mime,
            filename=filename,
            encrypt=encrypt,
            filesize=len(data),
        )
    except NETWORK_ERRORS as err:
        raise TransientFailure("network", type(err).__name__) from err
    if isinstance(resp, UploadError):
        status = http_status(resp)
        if status == 413 or resp.status_code == "M_TOO_LARGE":
            raise PermanentFailure("too_large", f"{len(data)} bytes")
        if status >= 500 or status == 0 or status == 429:
            raise TransientFailure("upload_failed", str(status))
        raise PermanentFailure("upload_refused", str(resp.status_code or status))
    assert isinstance(resp, UploadResponse)
    mxc: str = resp.content_uri
    if encrypt:
        assert keys is not None
        return Uploaded(mxc, {"file": {**keys, "url": mxc, "mimetype": mime}})
    return Uploaded(mxc, {"url": mxc})


def plain_url(mxc: str) -> Uploaded:
    """A cached ``mxc://`` reused without upload (unencrypted rooms only)."""
    return Uploaded(mxc, {"url": mxc})
