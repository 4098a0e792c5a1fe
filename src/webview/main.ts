import { MessageType, assertNever } from '../shared/protocol';
import { CheckpointPage } from './checkpoint/checkpointPage';
import { ClassificationPage } from './classification/classificationPage';
import { ComparisonApp } from './comparison/comparisonApp';
import { webviewComparisonHost } from './comparison/webviewHost';
import { HostConnection } from './messaging';

/**
 * One bundle for every page; the host's static HTML says which one this is (data-page). Each page
 * sends Ready and is then given its data.
 */
function reportProtocolError(e: Error): void {
  console.error(`DLA Lens webview: ${e.message}`);
}

const page = document.body.dataset.page;
if (page === 'comparison') {
  let app: ComparisonApp | undefined;
  const host = new HostConnection((m) => {
    switch (m.type) {
      case MessageType.ComparisonChanged: app?.show(m.data); break;
      case MessageType.RevealModule: app?.reveal(m.id); break;
      case MessageType.ClassificationChanged: reportProtocolError(new Error(`The comparison page does not handle '${m.type}'.`)); break;
      default: assertNever(m, 'push message');
    }
  }, reportProtocolError);
  app = new ComparisonApp(webviewComparisonHost(host));
  void app.start();
} else if (page === 'checkpoint') {
  const host = new HostConnection(() => undefined, reportProtocolError);
  void new CheckpointPage(host).start();
} else if (page === 'classification') {
  let view: ClassificationPage | undefined;
  const host = new HostConnection((m) => {
    if (m.type === MessageType.ClassificationChanged) view?.render(m.data);
    else reportProtocolError(new Error(`The classification page does not handle '${m.type}'.`));
  }, reportProtocolError);
  view = new ClassificationPage(host);
  void view.start();
} else {
  document.getElementById('app')!.textContent = `Unknown page '${page}'.`;
}
