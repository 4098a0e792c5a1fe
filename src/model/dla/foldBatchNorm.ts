/**
 * BatchNorm (eval mode) folded into the convolution before it, for the fast classification graph:
 *   y = gamma * (W*x + b - mean) / sqrt(var + eps) + beta
 *     = (W * s) * x + (beta + (b - mean) * s),   s = gamma / sqrt(var + eps).
 * Computed in float64 and rounded once to float32, so folding adds one rounding per weight and
 * nothing more (the tap graph keeps BN separate because its records sit between conv and BN).
 */
export interface BatchNormParams {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly runningMean: Float32Array;
  readonly runningVar: Float32Array;
  readonly epsilon: number;
}

export interface FoldedConv {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/** `convWeight` is [O, I/groups, k, k] in C order; `convBias` is [O] or absent. */
export function foldBatchNorm(convWeight: Float32Array, convBias: Float32Array | undefined, bn: BatchNormParams): FoldedConv {
  const outChannels = bn.weight.length;
  if (convWeight.length % outChannels !== 0) {
    throw new Error(`Cannot fold a BatchNorm of ${outChannels} channels into a convolution weight of ${convWeight.length} values.`);
  }
  const perChannel = convWeight.length / outChannels;
  const weight = new Float32Array(convWeight.length);
  const bias = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    const s = bn.weight[o] / Math.sqrt(bn.runningVar[o] + bn.epsilon);
    const b = convBias ? convBias[o] : 0;
    bias[o] = bn.bias[o] + (b - bn.runningMean[o]) * s;
    const base = o * perChannel;
    for (let i = 0; i < perChannel; i++) weight[base + i] = convWeight[base + i] * s;
  }
  return { weight, bias };
}
