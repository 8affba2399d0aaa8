"""medmod_lib: a small, tested library for multimodal clinical prediction.

The kit links MIMIC-IV ICU stays to MIMIC-CXR-JPG chest X-rays, pretrains
encoders with self-supervised objectives (SimCLR, VICReg, ALIGN), and evaluates
them on the five MedMod benchmark tasks. Every module runs unchanged on the
real PhysioNet downloads and on the synthetic dataset that
:mod:`medmod_lib.synthetic` writes in the same on-disk layout.
"""

__version__ = "0.1.0"
