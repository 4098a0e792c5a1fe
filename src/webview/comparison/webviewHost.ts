import { MessageType, type ComparisonData } from '../../shared/protocol';
import { toolkitControls } from '../controls';
import type { HostConnection } from '../messaging';
import { vscodeApi } from '../vscodeApi';
import type { ComparisonHost, ViewState } from './comparisonApp';

/** The comparison page inside the extension: data, details and export over the typed protocol. */
export function webviewComparisonHost(host: HostConnection): ComparisonHost {
  return {
    controls: toolkitControls,
    async load(): Promise<ComparisonData> {
      const reply = await host.request({ type: MessageType.Ready });
      if (reply.type !== MessageType.ComparisonData) throw new Error(`Expected comparison data, got '${reply.type}'.`);
      return reply.data;
    },
    layerDetail: async (layer, bins) => (await host.request({ type: MessageType.GetLayerDetail, layer, bins })).detail,
    noDetailReason: 'Per-channel errors need the activations of both sides, which this reopened report no longer has; run the comparison again.',
    exportReport: async (format) => (await host.request({ type: MessageType.ExportReport, format })).message,
    rendered: (what, nodes, ms) => host.notify({ type: MessageType.Rendered, what, nodes, ms }),
    getState: () => vscodeApi<ViewState>().getState(),
    setState: (s) => vscodeApi<ViewState>().setState(s),
  };
}
