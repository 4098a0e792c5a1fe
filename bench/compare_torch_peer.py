"""The same job as `dla-lens compare` done the usual PyTorch way, as the benchmark's peer:
torch.load both checkpoints, run both with a cloning forward hook on every module (scripts/torch_dla.py
is timm's DLA with timm's names), load the candidate dump with numpy, and diff every record
(max abs, mean abs, relative L2, cosine). Prints the wall time in ms as JSON.

    python3 bench/compare_torch_peer.py REF.pth CAND.pth DUMP.npz
"""
import json
import os
import sys
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
import torch_dla  # noqa: E402

torch.set_num_threads(os.cpu_count() or 2)


def records(weights, x):
    model = torch_dla.load_model('dla60', weights)
    recs = []
    handles, _ = torch_dla.hook_all(model, recs)
    with torch.no_grad():
        logits = model(x)
    for h in handles:
        h.remove()
    out = {'input': x.numpy()}
    for name, k, t in recs:
        out[f'{name}#{k}'] = t.numpy()
    out['logits'] = logits.numpy()
    return out


def diff(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    d = np.abs(a - b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return d.max(), d.mean(), np.linalg.norm(a - b) / (na or 1), float(a @ b) / ((na * nb) or 1)


ref_path, cand_path, dump_path = sys.argv[1:4]
dump = np.load(dump_path)
x = torch.from_numpy(dump['input'])
ref = records(ref_path, x)
cand = records(cand_path, x)
stats = [diff(v, cand[k]) for k, v in ref.items() if k in cand]
dumped = {k: dump[k] for k in dump.files}
stats += [diff(ref[k + '#0'] if k + '#0' in ref else ref[k], v) for k, v in dumped.items() if (k + '#0') in ref or k in ref]
print(json.dumps({'ms': (time.perf_counter() - t0) * 1000, 'records': len(stats)}))
