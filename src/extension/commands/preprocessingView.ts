import * as path from 'path';
import * as vscode from 'vscode';
import {
  checkPreprocessing, preprocessingProtocol, type PreprocessingData, type PreprocessingProtocol,
} from '../../shared/preprocessingProtocol';
import type { Log } from '../log';
import { ResultViews } from '../resultViews';

/**
 * Compare Preprocessing's view: a read-only webview with the two crops, the heat map of their
 * difference, the statistics and, with a model, both top-5s, all as the engine computed them (the
 * pictures travel as PNG data: URIs, so the page reads nothing of the file system). One panel per
 * image: comparing the same image again (other presets, another checkpoint) replaces its content.
 * Run from the image preview's title bar, it opens beside the preview.
 */
export type PreprocessingViews = ResultViews<PreprocessingProtocol, PreprocessingData>;

export function preprocessingViews(extensionUri: vscode.Uri, log: Log): PreprocessingViews {
  return new ResultViews({
    viewType: 'dlaLens.preprocessing', page: 'preprocessing', protocol: preprocessingProtocol,
    what: 'a preprocessing comparison', check: checkPreprocessing,
    key: (d) => d.image, title: titleOf, file: (d) => d.image,
    ready: (data) => ({ type: 'preprocessingData', data }),
    push: (data) => ({ type: 'preprocessingChanged', data }),
  }, extensionUri, log);
}

export function titleOf(d: PreprocessingData): string {
  return `${path.basename(d.image)} — ${d.a.label} vs ${d.b.label}`;
}
