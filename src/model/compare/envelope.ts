/**
 * The error envelope of a compared record: the smallest summary from which numpy's allclose
 * verdict `|a_i - b_i| <= atol + rtol*|ref_i|` (every element) follows exactly for ANY atol, rtol >= 0.
 *
 * Each element is a point (r, d) = (|ref_i|, |a_i - b_i|). The verdict fails iff some point lies
 * above the line d = atol + rtol*r. For rtol >= 0 the worst point for every slope is a vertex of
 * the point set's upper-left convex hull (from the smallest r, to the largest d): a point to the
 * right of and below another is never worse, and one under a hull edge is never worse than both
 * ends. So the verdict at the vertices is the verdict at every element, and a view can re-apply the
 * rule at another tolerance from a few dozen numbers instead of the tensors.
 *
 * Built incrementally inside the compare's single pass: most elements are rejected by one
 * comparison (`r >= r0 && d <= d0`: dominated by the leftmost vertex); the rest are tested against
 * the chain and inserted. Vertices: increasing r, strictly increasing d, strictly concave.
 */

/** Beyond this many vertices (never seen on real activations: dozens) the envelope is given up. */
export const MAX_ENVELOPE_VERTICES = 4096;

export class EnvelopeBuilder {
  private rs: number[] = [];
  private ds: number[] = [];
  /** The leftmost vertex: a point with r >= r0 and d <= d0 cannot matter. */
  r0 = Infinity;
  d0 = -Infinity;
  /** False once the vertex count passed MAX_ENVELOPE_VERTICES. */
  exact = true;

  /** Adds a point; the caller may skip points with `r >= this.r0 && d <= this.d0` (they cannot matter). */
  add(r: number, d: number): void {
    if (!this.exact) return;
    const rs = this.rs, ds = this.ds;
    const n = rs.length;
    // First vertex at or right of r.
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rs[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    const at = lo;
    if (at > 0) {
      // Under (or on) the chain: between vertices at-1 and at, or on the flat ray right of the last.
      if (at === n) {
        if (d <= ds[n - 1]) return;
      } else {
        const ra = rs[at - 1], da = ds[at - 1];
        if ((d - da) * (rs[at] - ra) <= (ds[at] - da) * (r - ra)) return;
      }
    } else if (n > 0 && rs[0] === r && d <= ds[0]) {
      return;
    }
    // Vertices at or right of r that are no higher are dominated by the new point.
    let end = at;
    while (end < n && ds[end] <= d) end++;
    // Restore strict concavity on the left (a, b, p) and on the right (p, b, c).
    let start = at;
    while (start >= 2 && !above(rs[start - 2], ds[start - 2], rs[start - 1], ds[start - 1], r, d)) start--;
    while (end + 1 < n && !above(r, d, rs[end], ds[end], rs[end + 1], ds[end + 1])) end++;
    rs.splice(start, end - start, r);
    ds.splice(start, end - start, d);
    this.r0 = rs[0];
    this.d0 = ds[0];
    if (rs.length > MAX_ENVELOPE_VERTICES) {
      this.exact = false;
      this.rs = [];
      this.ds = [];
    }
  }

  /** Flat [r0, d0, r1, d1, ...], or undefined when the envelope was given up. */
  result(): number[] | undefined {
    if (!this.exact) return undefined;
    const out = new Array<number>(this.rs.length * 2);
    for (let i = 0; i < this.rs.length; i++) {
      out[2 * i] = this.rs[i];
      out[2 * i + 1] = this.ds[i];
    }
    return out;
  }
}

/** Whether b lies strictly above the segment from a to c (ra < rb < rc). */
function above(ra: number, da: number, rb: number, db: number, rc: number, dc: number): boolean {
  return (db - da) * (rc - ra) > (dc - da) * (rb - ra);
}

/** The envelope of several envelopes (a batch's records, image by image): the envelope of all their vertices. */
export function mergeEnvelopes(parts: readonly (readonly number[] | undefined)[]): number[] | undefined {
  const b = new EnvelopeBuilder();
  for (const p of parts) {
    if (!p) return undefined;
    for (let i = 0; i < p.length; i += 2) b.add(p[i], p[i + 1]);
  }
  return b.result();
}
