/** The messages between an evaluation's main thread and its worker threads. */
import type { ProviderSetting } from '../run/session';

export interface PreprocessJob {
  readonly id: number;
  readonly file: string;
}

export type PreprocessReply =
  | { readonly id: number; readonly tensors: Float32Array[]; readonly shapes: number[][]; readonly ms: number; readonly error?: undefined }
  | { readonly id: number; readonly error: string; readonly ms: number; readonly tensors?: undefined };

/** Sent once: the models (fast graphs) this inference thread runs, on its device. */
export interface InferenceSetup {
  readonly kind: 'setup';
  readonly graphs: readonly Uint8Array[];
  readonly provider: ProviderSetting;
  readonly deviceId?: number;
  readonly threads: number;
}

/**
 * A batch: its inputs (one per preset), and which model runs on which input — [[0, 0], [1, 0]]
 * for two checkpoints on the same images, [[0, 0], [0, 1]] for one checkpoint through two presets.
 */
export interface InferenceJob {
  readonly kind: 'run';
  readonly id: number;
  readonly inputs: readonly Float32Array[];
  /** Each input's [N, 3, H, W] (two presets may crop to different sizes). */
  readonly shapes: readonly (readonly number[])[];
  readonly runs: readonly (readonly [model: number, input: number])[];
}

export type InferenceReply =
  | { readonly kind: 'ready'; readonly provider: string; readonly error?: undefined }
  | { readonly kind: 'ready'; readonly error: string }
  | { readonly kind: 'done'; readonly id: number; readonly logits: Float32Array[]; readonly classes: number; readonly ms: number; readonly error?: undefined }
  | { readonly kind: 'done'; readonly id: number; readonly error: string };
