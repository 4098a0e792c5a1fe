import * as path from 'path';
import * as vscode from 'vscode';
import {
  checkClassification, classificationProtocol, type ClassificationData, type ClassificationProtocol,
} from '../../shared/classificationProtocol';
import type { Log } from '../log';
import { ResultViews } from '../resultViews';

/**
 * Classify Image's result, rendered: a small read-only webview showing the image and, beside it,
 * the top-5 as a table with probability bars, then the checkpoint, preprocessing preset, provider
 * and timings. The image travels as a thumbnail in the data (the page reads nothing of the file
 * system), and the page is the only webview the command opens: VS Code in the browser can leave
 * one of two webviews that load at the same moment blank (they share one service worker scope).
 * Run from the image preview's title bar, the result opens beside the preview. One panel per image.
 */
export type ClassificationViews = ResultViews<ClassificationProtocol, ClassificationData>;

export function classificationViews(extensionUri: vscode.Uri, log: Log): ClassificationViews {
  return new ResultViews({
    viewType: 'dlaLens.classification', page: 'classification', protocol: classificationProtocol,
    what: 'a classification result', check: checkClassification,
    key: (d) => d.image, title: (d) => titleOf(d.image), file: (d) => d.image,
    ready: (data) => ({ type: 'classificationData', data }),
    push: (data) => ({ type: 'classificationChanged', data }),
  }, extensionUri, log);
}

export function titleOf(image: string): string {
  return `${path.basename(image)} — top-5`;
}
