"""Loads a flowmatch weights file into the PyTorch twin with load_state_dict(strict=True) and checks
that the twin's Euler samples from the given noise equal flowmatch's.
    build/flowmatch sample RUN --noise z.npy --solver euler --steps 10 --out x1.npy
    /usr/bin/python3 bench/reference/load_flowmatch_weights.py RUN/model.safetensors z.npy x1.npy 10
Prints the largest relative difference and exits 1 above 1e-5.
"""
import json
import sys

import numpy as np
import torch

from twin import euler, model_from_config, read_safetensors

weights, noise_path, samples_path, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tensors, metadata = read_safetensors(weights)
model = model_from_config(json.loads(metadata["flowmatch.model"]))
model.load_state_dict(tensors, strict=True)
with torch.no_grad():
    twin = euler(model, torch.from_numpy(np.load(noise_path)).float(), steps)
flowmatch = torch.from_numpy(np.load(samples_path))
difference = float((twin - flowmatch).abs().max() / flowmatch.abs().max())
print("load_state_dict(strict=True): ok; largest relative difference of the Euler samples: %.3g" % difference)
sys.exit(0 if difference < 1e-5 else 1)
