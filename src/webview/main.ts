import { assertNever } from '../shared/channel';
import { checkpointProtocol } from '../shared/checkpointProtocol';
import { classificationProtocol } from '../shared/classificationProtocol';
import { comparisonProtocol } from '../shared/comparisonProtocol';
import { evaluationProtocol } from '../shared/evaluationProtocol';
import { preprocessingProtocol } from '../shared/preprocessingProtocol';
import { CheckpointPage } from './checkpoint/checkpointPage';
import { ClassificationPage } from './classification/classificationPage';
import { ComparisonApp } from './comparison/comparisonApp';
import { EvaluationPage } from './evaluation/evaluationPage';
import { webviewComparisonHost } from './comparison/webviewHost';
import { HostConnection } from './messaging';
import { PreprocessingPage } from './preprocessing/preprocessingPage';

// First thing: a Content-Security-Policy violation is a bug; it is counted where tests (and a
// porter with the webview's devtools open) see it.
let cspViolations = 0;
document.addEventListener('securitypolicyviolation', (e) => {
  document.body.dataset.cspViolations = String(++cspViolations);
  const where = e.target instanceof Element ? ` in <${e.target.tagName.toLowerCase()}${e.target.id ? ` id="${e.target.id}"` : ''}>` : '';
  console.error(`DLA Lens webview: the CSP blocked ${e.blockedURI || 'an inline resource'}${where} (${e.violatedDirective}${e.sample ? `: '${e.sample}'` : ''}; ${e.sourceFile}:${e.lineNumber}).`);
});

/**
 * One bundle for every page; the host's static HTML says which one this is (data-page). Each page
 * talks over its own protocol, sends Ready and is then given its data.
 */
function reportProtocolError(e: Error): void {
  console.error(`DLA Lens webview: ${e.message}`);
}

const page = document.body.dataset.page;
if (page === 'comparison') {
  let app: ComparisonApp | undefined;
  const host = new HostConnection(comparisonProtocol, (m) => {
    switch (m.type) {
      case 'comparisonChanged': app?.show(m.data); break;
      case 'revealModule': app?.reveal(m.id); break;
      default: assertNever(m, 'push message');
    }
  }, reportProtocolError);
  app = new ComparisonApp(webviewComparisonHost(host));
  void app.start();
} else if (page === 'checkpoint') {
  const host = new HostConnection(checkpointProtocol, () => undefined, reportProtocolError);
  void new CheckpointPage(host).start();
} else if (page === 'classification') {
  let view: ClassificationPage | undefined;
  const host = new HostConnection(classificationProtocol, (m) => view?.render(m.data), reportProtocolError);
  view = new ClassificationPage(host);
  void view.start();
} else if (page === 'preprocessing') {
  let view: PreprocessingPage | undefined;
  const host = new HostConnection(preprocessingProtocol, (m) => view?.render(m.data), reportProtocolError);
  view = new PreprocessingPage(host);
  void view.start();
} else if (page === 'evaluation') {
  let view: EvaluationPage | undefined;
  const host = new HostConnection(evaluationProtocol, (m) => view?.render(m.data), reportProtocolError);
  view = new EvaluationPage(host);
  void view.start();
} else {
  document.getElementById('app')!.textContent = `Unknown page '${page}'.`;
}
