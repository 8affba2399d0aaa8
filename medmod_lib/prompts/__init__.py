"""Clinical prompts from tabular EHR, their augmentations, offline text encoders,
X-ray + prompt datasets and image-text contrastive pretraining (``prompt-clip``)."""

from .augment import PromptAugmenter
from .builder import Finding, build_prompt, build_prompt_findings, summarize, window_events
from .dataset import (
    LazySentenceEncoder,
    PromptCollate,
    PromptDataset,
    PromptTable,
    build_prompt_table,
    earlier_diagnoses,
    embed_table,
    prompt_window_hours,
)
from .model import (
    METHOD,
    PromptCLIPConfig,
    PromptCLIPModel,
    build_prompt_model,
    pretrain_prompts,
)
from .pipeline import PromptData, prompt_datasets
from .retrieval import PairEmbeddings, embed_pairs, nearest_prompts, recall_at_k, retrieval_ranks
from .text_encoder import EmbeddingCache, HashingTextEncoder, SentenceEncoder

__all__ = [
    "METHOD",
    "EmbeddingCache",
    "Finding",
    "HashingTextEncoder",
    "LazySentenceEncoder",
    "PairEmbeddings",
    "PromptAugmenter",
    "PromptCLIPConfig",
    "PromptCLIPModel",
    "PromptCollate",
    "PromptData",
    "PromptDataset",
    "PromptTable",
    "SentenceEncoder",
    "build_prompt",
    "build_prompt_findings",
    "build_prompt_model",
    "build_prompt_table",
    "earlier_diagnoses",
    "embed_pairs",
    "embed_table",
    "nearest_prompts",
    "prompt_datasets",
    "prompt_window_hours",
    "pretrain_prompts",
    "recall_at_k",
    "retrieval_ranks",
    "summarize",
    "window_events",
]
