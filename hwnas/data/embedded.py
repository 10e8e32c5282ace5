"""The embedded default dataset: a class-balanced subset of Fashion-MNIST shipped inside hwnas.

Fashion-MNIST: Han Xiao, Kashif Rasul, Roland Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017. (c) 2017 Zalando SE, MIT licence,
https://github.com/zalandoresearch/fashion-mnist. See NOTICE.md beside this file.

The subset holds 500 training and 100 test images per class (5,000 + 1,000, 28x28 grey levels), drawn
with a fixed seed by ``hwnas/data/_build_embedded.py``; ``train_index``/``test_index`` record each image's
index in the original files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

#: The shipped file (read with ``allow_pickle=False``).
EMBEDDED_PATH = Path(__file__).with_name("fmnist_subset.npz")

#: Fashion-MNIST class names, index = label.
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


@lru_cache(maxsize=1)
def load_embedded() -> dict[str, np.ndarray]:
    """The arrays of the embedded subset: ``{train,test}_{images,labels,index}`` (read-only, cached).

    Example:
        >>> arrays = load_embedded()
        >>> arrays["train_images"].shape, arrays["test_images"].shape
        ((5000, 28, 28), (1000, 28, 28))
    """
    with np.load(EMBEDDED_PATH, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    for v in out.values():
        v.setflags(write=False)
    return out
