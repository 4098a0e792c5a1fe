import { MAX_HISTOGRAM_BINS, type LayerDetailData } from '../../shared/comparisonProtocol';
import { toFloat32, type Tensor } from '../tensor';

/**
 * What the detail pane shows for one record, computed on demand from the two activations:
 * per-channel error (channel = dimension 1, as in NCHW and [N, C]) and value histograms of both
 * sides over shared bins, so the two distributions can be laid over each other.
 */
export function layerDetail(layer: string, ref: Tensor, cand: Tensor, bins: number): LayerDetailData {
  if (ref.shape.join('x') !== cand.shape.join('x')) {
    throw new Error(`'${layer}' has shape [${ref.shape.join(', ')}] in the reference but [${cand.shape.join(', ')}] in the candidate; per-channel errors need equal shapes.`);
  }
  const a = toFloat32(ref);
  const b = toFloat32(cand);
  const channels = ref.shape.length >= 2 ? ref.shape[1] : 1;
  const batch = ref.shape.length >= 1 ? ref.shape[0] : 1;
  const inner = a.length / Math.max(1, batch * channels);
  const maxAbs = new Float32Array(channels);
  const sumAbs = new Float64Array(channels);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const base = (n * channels + c) * inner;
      let m = maxAbs[c], s = 0;
      for (let i = base; i < base + inner; i++) {
        const d = Math.abs(a[i] - b[i]);
        // NaN compares false: a NaN difference must show, so it wins explicitly.
        if (d > m || Number.isNaN(d)) m = d;
        s += d;
      }
      maxAbs[c] = m;
      sumAbs[c] += s;
    }
  }
  const meanAbs = new Float32Array(channels);
  for (let c = 0; c < channels; c++) meanAbs[c] = sumAbs[c] / Math.max(1, batch * inner);

  let lo = Infinity, hi = -Infinity;
  for (const x of [a, b]) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 0; }
  const n = Math.min(Math.max(1, bins), MAX_HISTOGRAM_BINS);
  const width = hi > lo ? (hi - lo) / n : 1;
  const hist = (x: Float32Array): Uint32Array => {
    const h = new Uint32Array(n);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (!Number.isFinite(v)) continue; // counted as NaN/Inf in the stats, not placeable in a bin
      h[Math.min(n - 1, Math.floor((v - lo) / width))]++;
    }
    return h;
  };
  return { layer, channelMaxAbs: maxAbs, channelMeanAbs: meanAbs, values: { lo, hi, reference: hist(a), candidate: hist(b) } };
}
