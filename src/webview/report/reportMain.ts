/**
 * The standalone HTML report's page script (bundled into dist/report.js and inlined into every
 * report by src/model/compare/htmlReport.ts). It shows the same comparison page as the extension's
 * webview, with native controls, from the data embedded in the page: no messaging, no network.
 */
import { nonFiniteReviver } from '../../shared/nonFinite';
import { REPORT_DATA_ELEMENT_ID, checkComparisonData, type ComparisonData } from '../../shared/comparisonProtocol';
import { ComparisonApp, type ComparisonHost, type ViewState } from '../comparison/comparisonApp';
import { plainControls } from '../plainControls';

/** The embedded comparison, validated as the webview validates a message from its host. */
function embeddedData(): ComparisonData {
  const tag = document.getElementById(REPORT_DATA_ELEMENT_ID);
  if (!tag?.textContent) throw new Error(`This report has no embedded data (no <script id="${REPORT_DATA_ELEMENT_ID}">).`);
  // The same checks the webview applies to a message; a hand-edited report fails with the field named.
  return checkComparisonData(JSON.parse(tag.textContent, nonFiniteReviver) as unknown, 'the embedded report data');
}

function main(): void {
  let state: ViewState | undefined;
  const host: ComparisonHost = {
    controls: plainControls,
    load: async () => embeddedData(),
    noDetailReason: 'A report file keeps per-layer summaries only. Per-channel errors and histograms need both sides\' activations: ' +
      'open the comparison in VS Code with DLA Lens (DLA: Compare Checkpoints) to see them.',
    rendered: (what, nodes, ms) => {
      document.body.dataset.rendered = what;
      if (what === 'layout') console.debug(`DLA Lens report: ${nodes} nodes laid out in ${ms.toFixed(1)} ms`);
    },
    getState: () => state,
    setState: (s) => { state = s; },
  };
  const app = new ComparisonApp(host);
  app.start().then(() => { document.body.dataset.ready = 'true'; }, (err: unknown) => {
    document.body.dataset.ready = 'error';
    console.error(err);
  });
}

main();
