"""Runs tf2onnx's converter, with the one shim it needs on numpy 2 (np.product was removed)."""
import sys

import numpy as np

if not hasattr(np, "product"):
    np.product = np.prod  # tf2onnx 1.17 still calls np.product

from tf2onnx import convert  # noqa: E402

sys.argv = ["tf2onnx.convert"] + sys.argv[1:]
convert.main()
