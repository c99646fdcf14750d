"""The audio pipeline: recordings in, voice notes and MP3 files out."""

from bot.audio.errors import AudioRejected, RejectCode
from bot.audio.model import AudioLimits, PreparedAudio
from bot.audio.pipeline import AudioPipeline

__all__ = ["AudioLimits", "AudioPipeline", "AudioRejected", "PreparedAudio", "RejectCode"]
