import { comparisonProtocol, type ComparisonData } from '../../shared/comparisonProtocol';
import { toolkitControls } from '../controls';
import type { HostConnection } from '../messaging';
import { vscodeApi } from '../vscodeApi';
import type { ComparisonHost, ViewState } from './comparisonApp';

/** The comparison page inside the extension: data, details and export over its protocol. */
export function webviewComparisonHost(host: HostConnection<typeof comparisonProtocol>): ComparisonHost {
  return {
    controls: toolkitControls,
    load: async (): Promise<ComparisonData> => (await host.request({ type: 'ready' })).data,
    layerDetail: async (layer, bins, image) => (await host.request({ type: 'getLayerDetail', layer, bins, ...(image !== undefined ? { image } : {}) })).detail,
    noDetailReason: 'Per-channel errors need the activations of both sides, which this reopened report no longer has; run the comparison again.',
    exportReport: async (format) => (await host.request({ type: 'exportReport', format })).message,
    rendered: (what, nodes, ms) => host.notify({ type: 'rendered', what, nodes, ms }),
    getState: () => vscodeApi<ViewState>().getState(),
    setState: (s) => vscodeApi<ViewState>().setState(s),
  };
}
