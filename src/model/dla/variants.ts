/**
 * The 12 timm DLA variants as plain data (timm `models/dla.py`, `@register_model` functions).
 * Everything else - the module tree, expected weights, the ONNX graph - is derived from these.
 */
export type BlockType = 'basic' | 'bottleneck' | 'bottle2neck';

export interface DlaVariant {
  readonly name: string;
  /** Convs in level0/level1, then tree depth of level2..level5. */
  readonly levels: readonly [number, number, number, number, number, number];
  readonly channels: readonly [number, number, number, number, number, number];
  readonly block: BlockType;
  readonly cardinality: number;
  readonly baseWidth: number;
  /** `shortcut_root`: roots add their first child before the ReLU. */
  readonly shortcutRoot: boolean;
  /** Res2Net scale (split count) of DlaBottle2neck; 1 for the other blocks. */
  readonly scale: number;
  readonly numClasses: number;
}

const SMALL = [16, 32, 64, 64, 128, 256] as const;
const LARGE = [16, 32, 128, 256, 512, 1024] as const;

function v(
  name: string,
  levels: DlaVariant['levels'],
  channels: DlaVariant['channels'],
  block: BlockType,
  extra: Partial<Pick<DlaVariant, 'cardinality' | 'baseWidth' | 'shortcutRoot' | 'scale'>> = {},
): DlaVariant {
  return {
    name, levels, channels, block,
    cardinality: extra.cardinality ?? 1,
    baseWidth: extra.baseWidth ?? 64,
    shortcutRoot: extra.shortcutRoot ?? false,
    scale: extra.scale ?? (block === 'bottle2neck' ? 4 : 1),
    numClasses: 1000,
  };
}

export const VARIANTS: readonly DlaVariant[] = [
  v('dla34', [1, 1, 1, 2, 2, 1], [16, 32, 64, 128, 256, 512], 'basic'),
  v('dla46_c', [1, 1, 1, 2, 2, 1], SMALL, 'bottleneck'),
  v('dla46x_c', [1, 1, 1, 2, 2, 1], SMALL, 'bottleneck', { cardinality: 32, baseWidth: 4 }),
  v('dla60x_c', [1, 1, 1, 2, 3, 1], SMALL, 'bottleneck', { cardinality: 32, baseWidth: 4 }),
  v('dla60', [1, 1, 1, 2, 3, 1], LARGE, 'bottleneck'),
  v('dla60x', [1, 1, 1, 2, 3, 1], LARGE, 'bottleneck', { cardinality: 32, baseWidth: 4 }),
  v('dla102', [1, 1, 1, 3, 4, 1], LARGE, 'bottleneck', { shortcutRoot: true }),
  v('dla102x', [1, 1, 1, 3, 4, 1], LARGE, 'bottleneck', { cardinality: 32, baseWidth: 4, shortcutRoot: true }),
  v('dla102x2', [1, 1, 1, 3, 4, 1], LARGE, 'bottleneck', { cardinality: 64, baseWidth: 4, shortcutRoot: true }),
  v('dla169', [1, 1, 2, 3, 5, 1], LARGE, 'bottleneck', { shortcutRoot: true }),
  v('dla60_res2net', [1, 1, 1, 2, 3, 1], LARGE, 'bottle2neck', { cardinality: 1, baseWidth: 28 }),
  v('dla60_res2next', [1, 1, 1, 2, 3, 1], LARGE, 'bottle2neck', { cardinality: 8, baseWidth: 4 }),
];

export function variantByName(name: string): DlaVariant | undefined {
  return VARIANTS.find((x) => x.name === name);
}

/** timm: mid = floor(out * base_width / 64) * cardinality // expansion(2). Basic blocks have no mid. */
export function midPlanes(variant: DlaVariant, outplanes: number): number {
  return Math.floor((Math.floor(outplanes * (variant.baseWidth / 64)) * variant.cardinality) / 2);
}
