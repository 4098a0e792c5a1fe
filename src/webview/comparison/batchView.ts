import type { ComparisonData, ViewLayer } from '../../shared/comparisonProtocol';

/**
 * A comparison on many inputs, seen one image at a time. The batch's data carries each image's
 * own figures and verdicts (computed by the engine); one image's view is the same page data with
 * that image's figures in place of the batch's, its own first divergence, and the local errors
 * and diagnosis only for the image they were computed on. Nothing is decided here.
 */

/** The value of the image selector for the whole batch. */
export const ALL_IMAGES = 'all';

export function imageData(data: ComparisonData, image: number): ComparisonData {
  const b = data.batch;
  if (!b || image < 0 || image >= b.images.length) return data;
  const focus = image === b.focus;
  const layers: ViewLayer[] = data.layers.map((l) => {
    const own = l.batch?.images[image];
    if (!own) return l;
    return { name: l.name, reference: own.reference, candidate: own.candidate, diff: own.diff, ...(focus && l.local ? { local: l.local } : {}) };
  });
  return {
    ...data,
    input: { source: `image ${image} of ${b.images.length}: ${b.images[image]}`, shape: [1, ...data.input.shape.slice(1)] },
    layers,
    firstDivergence: b.firstDivergence[image],
    diagnosis: focus ? data.diagnosis : [],
    notes: focus ? data.notes : [...data.notes, `Local errors and the diagnosis were computed on image ${b.focus} (${b.images[b.focus]}), the worst at the first divergence.`],
  };
}

/** The selector's entries: the batch, then each image with its own verdict. */
export function imageOptions(data: ComparisonData): { value: string; label: string }[] {
  const b = data.batch;
  if (!b) return [];
  const diverging = b.firstDivergence.filter((f) => f !== null).length;
  return [
    { value: ALL_IMAGES, label: `All ${b.images.length} images (${diverging} diverge)` },
    ...b.images.map((name, i) => {
      const first = b.firstDivergence[i];
      return { value: String(i), label: `${i}: ${name} — ${first === null ? 'passes' : `diverges at ${first}`}` };
    }),
  ];
}

/** The image whose records the detail pane shows: the one selected, else the worst of the batch at that record. */
export function detailImage(full: ComparisonData, selected: number | undefined, layer: string): number | undefined {
  if (!full.batch) return undefined;
  if (selected !== undefined) return selected;
  return full.layers.find((l) => l.name === layer)?.batch?.worst ?? 0;
}
