"""Segmentation of cine pelvic MRI frames with a contour-aware 2D U-Net.

Modules: :mod:`unet` (network), :mod:`losses` (Dice, boundary distance, the
fixed and adaptive combinations), :mod:`preprocess` (resampling and intensity
normalisation shared by training and inference), :mod:`augment` (kornia
augmentation on the training device), :mod:`train` (training generator),
:mod:`infer` (the :class:`~core.segment.infer.Segmenter`) and :mod:`model_io`
(safetensors + JSON model files).
"""
