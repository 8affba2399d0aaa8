"""Clinical prompts from tabular EHR, their augmentations, and offline text encoders."""

from .augment import PromptAugmenter
from .builder import Finding, build_prompt, build_prompt_findings, summarize, window_events
from .text_encoder import EmbeddingCache, HashingTextEncoder, SentenceEncoder

__all__ = [
    "EmbeddingCache",
    "Finding",
    "HashingTextEncoder",
    "PromptAugmenter",
    "SentenceEncoder",
    "build_prompt",
    "build_prompt_findings",
    "summarize",
    "window_events",
]
