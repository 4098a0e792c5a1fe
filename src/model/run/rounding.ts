/**
 * Round half to even: Python 3's round() (round(58.5) == 58), which timm's and PaddleClas's size
 * rules use, and C's cvRound under the SSE default rounding mode, which OpenCV's fixed-point
 * resize uses.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends halves up; step back when that landed on an odd integer.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
