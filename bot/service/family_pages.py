"""Family pages: one private link per child's family, shared by its guardians.

A link's token carries 256 bits: the HMAC-SHA256, under the service's own
key (``data_dir/web.key``, 256 random bits), of a per-family salt of 128
random bits (``secrets.token_urlsafe``). The database keeps the salt and the
token's SHA-256 only: a copy of the database alone rebuilds no link, while
the service can show a family its link again (``/page``, e-mails) without
cutting the bookmark another guardian already has. A new link (new salt)
stops the old one at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bot.i18n import SOURCE, supported
from bot.service.context import Context
from storage.repos.pages import LinkedRecording

KEY_FILE = "web.key"
_SALT_BYTES = 16  # 128 random bits per family


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def looks_like_token(text: str) -> bool:
    return 40 <= len(text) <= 64 and all(c.isalnum() or c in "-_" for c in text)


def load_key(data_dir: Path) -> bytes:
    """The service's link key, made once (readable by the service user only)."""
    path = data_dir / KEY_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32))
        f.flush()
        os.fsync(f.fileno())
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


class FamilyPages:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._key: bytes | None = None

    @property
    def enabled(self) -> bool:
        return self.ctx.settings.web is not None

    def _token(self, salt: str) -> str:
        if self._key is None:
            self._key = load_key(self.ctx.settings.data_dir)
        mac = hmac.new(self._key, salt.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    async def token_for(self, child_id: int) -> str:
        """The family's token, its page made on first use."""
        salt = await self.ctx.repos.pages.salt_of(child_id)
        if salt is None:
            fresh = secrets.token_urlsafe(_SALT_BYTES)
            salt = await self.ctx.repos.pages.create(
                child_id, fresh, token_hash(self._token(fresh)), self.ctx.clock.now()
            )
        return self._token(salt)

    async def renew(self, child_id: int) -> str:
        """A new link; the old one is dead from now on (page, audio, feed)."""
        salt = secrets.token_urlsafe(_SALT_BYTES)
        token = self._token(salt)
        await self.ctx.repos.pages.put(child_id, salt, token_hash(token), self.ctx.clock.now())
        self.ctx.audience.changed()
        return token

    async def child_for(self, token: str) -> int | None:
        if not looks_like_token(token):
            return None
        return await self.ctx.repos.pages.child_for(token_hash(token))

    async def recording_behind(self, token: str, recording_id: int) -> LinkedRecording | None:
        """A recording asked for behind a link (the link's child, the
        recording if it exists, its tags); None when the link is unknown."""
        if not looks_like_token(token):
            return None
        return await self.ctx.repos.pages.recording_behind(token_hash(token), recording_id)

    def url(self, token: str, suffix: str = "") -> str:
        web = self.ctx.settings.web
        assert web is not None
        return f"{web.public_url}/f/{token}{suffix}"

    async def link_for(self, child_id: int) -> str | None:
        """The family's page address, or None when the service has no [web]."""
        if not self.enabled:
            return None
        return self.url(await self.token_for(child_id))

    async def language_chosen(self, child_id: int) -> str | None:
        """The language chosen for the page itself, if any."""
        return supported(await self.ctx.repos.pages.language_of(child_id))

    async def language_of(self, child_id: int) -> str:
        """The language the family's page and feed speak: the one chosen for
        the page (invitation page, the page's chooser, /langue), else its
        first guardian's, else French."""
        repos = self.ctx.repos
        chosen = await self.language_chosen(child_id)
        if chosen:
            return chosen
        for guardian_id in await repos.families.guardians_of_child(child_id):
            guardian = await repos.families.get_guardian(guardian_id)
            if guardian is not None:
                return supported(guardian.language) or SOURCE
        return SOURCE
