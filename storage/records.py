"""Rows as typed, immutable records: what repositories hand to the core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def to_db_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class School:
    id: int
    name: str


@dataclass(frozen=True)
class Class:
    id: int
    school_id: int
    name: str
    school_name: str
    weekly_digest: str  # "4 16:30"


@dataclass(frozen=True)
class ClassOverview:
    """A line of `admin classes`."""

    school: str
    class_id: int
    name: str
    channels: tuple[str, ...]  # platforms of the bound groups or rooms
    children: int
    families: int
    recordings: int  # withdrawn and cancelled ones not counted
    teachers: tuple[tuple[str, str, str], ...]  # (display name, platform, role)


@dataclass(frozen=True)
class Teacher:
    id: int
    class_id: int
    platform: str
    user_id: str
    chat_id: str
    display_name: str
    role: str


@dataclass(frozen=True)
class Channel:
    id: int
    class_id: int
    platform: str
    chat_id: str


@dataclass(frozen=True)
class Child:
    id: int
    class_id: int
    first_name: str
    consent: bool | None


@dataclass(frozen=True)
class ConsentRow:
    """A child's stored consent facts: the teacher's record and each answer of
    its family (answer, when). ``bot/consent.py`` decides from them."""

    child_id: int
    teacher: bool | None
    teacher_at: datetime | None
    family: tuple[tuple[bool, datetime], ...]


@dataclass(frozen=True)
class Guardian:
    id: int
    platform: str
    user_id: str
    chat_id: str
    language: str = "fr"  # what the bot writes to this family in


@dataclass(frozen=True)
class Subscription:
    id: int
    guardian_id: int
    child_id: int
    class_id: int
    frequency: str
    paused: bool
    suspended_reason: str | None


@dataclass(frozen=True)
class Invitation:
    id: int
    kind: str
    class_id: int
    child_id: int | None
    max_uses: int
    uses: int
    expires_at: datetime
    revoked: bool


@dataclass(frozen=True)
class Album:
    id: int
    class_id: int
    position: int
    title: str
    is_current: bool


@dataclass(frozen=True)
class Recording:
    id: int
    album_id: int
    class_id: int
    position: int
    title: str
    state: str
    failure_reason: str | None
    is_private: bool
    private_child_id: int | None
    platform: str
    source_chat_id: str
    source_message_id: str
    attachment_ref: str
    attachment_kind: str
    posted_by: str
    reply_message_id: str | None
    original_sha: str | None
    voice_sha: str | None
    compat_sha: str | None
    compat_mime: str | None
    duration_s: float | None
    waveform: tuple[int, ...]
    publish_at: datetime | None
    published_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: int
    recording_id: int
    guardian_id: int
    platform: str
    chat_id: str
    state: str
    attempts: int
    next_try_at: datetime
    last_error: str | None
    platform_message_id: str | None


@dataclass(frozen=True)
class Digest:
    id: int
    guardian_id: int
    period_key: str
    platform: str
    chat_id: str
    state: str
    due_at: datetime
    next_try_at: datetime
    attempts: int
    steps_done: int
    mix_key: str | None


@dataclass(frozen=True)
class DigestItem:
    """One recording of a digest, with what its message needs."""

    delivery_id: int
    delivery_state: str
    recording_id: int
    live: bool  # still published (not withdrawn since)
    class_name: str
    album_title: str
    album_position: int
    position: int
    title: str
    duration_s: float | None
    voice_sha: str | None
    compat_sha: str | None
    compat_mime: str | None
    waveform: tuple[int, ...]


@dataclass(frozen=True)
class Mix:
    content_key: str
    voice_sha: str
    compat_sha: str
    compat_mime: str
    duration_s: float
    waveform: tuple[int, ...]
