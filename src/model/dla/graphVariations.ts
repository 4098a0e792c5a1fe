/**
 * Known porting mistakes, as data. The diagnosis engine re-runs the reference graph with one of
 * these applied and asks whether the port's activations then match: a match names the bug.
 *
 * `at` is a timm module id: the variation applies to that module and everything inside it
 * (`level3` covers `level3.tree1.tree1.bn2`). Omitted, it applies everywhere.
 */
export type GraphVariation =
  /** BatchNorm epsilon other than PyTorch's 1e-5, e.g. 1e-3 (the Keras/TensorFlow default). */
  | { readonly kind: 'bn-epsilon'; readonly epsilon: number; readonly at?: string }
  /** BatchNorm left in training mode: normalised with the batch's own mean and biased variance over N, H, W. */
  | { readonly kind: 'bn-train'; readonly at?: string }
  /**
   * TF 'SAME' padding on stride-2 convolutions: ceil(H/2) outputs with the extra padding at the
   * bottom/right (pads [0,0,1,1] on even sizes) instead of PyTorch's symmetric padding.
   */
  | { readonly kind: 'same-padding'; readonly at?: string }
  /** The input's channels reversed (BGR instead of RGB). Applies to the model input only. */
  | { readonly kind: 'bgr-input' }
  /** The ReLU that ends a block (after the residual add) or a root (after its BN / shortcut) left out. */
  | { readonly kind: 'drop-relu'; readonly at?: string }
  /** AvgPool excluding padding from the divisor (Paddle's default `exclusive=True`), i.e. count_include_pad=False. */
  | { readonly kind: 'avgpool-exclude-pad'; readonly at?: string };

export type VariationKind = GraphVariation['kind'];

/** Whether module `id` lies at or below `at` (`undefined` = everywhere). */
export function covers(at: string | undefined, id: string): boolean {
  return at === undefined || at === '' || id === at || id.startsWith(`${at}.`);
}

/** The variations of `kind` that reach module `id`, last one winning where they conflict. */
export function applying<K extends VariationKind>(
  variations: readonly GraphVariation[],
  kind: K,
  id: string,
): Extract<GraphVariation, { kind: K }> | undefined {
  let found: Extract<GraphVariation, { kind: K }> | undefined;
  for (const v of variations) {
    if (v.kind === kind && covers('at' in v ? v.at : undefined, id)) found = v as Extract<GraphVariation, { kind: K }>;
  }
  return found;
}
