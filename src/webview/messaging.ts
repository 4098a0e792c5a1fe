import {
  MessageType, ProtocolError, parseToWebview,
  type FromWebviewMessage, type FromWebviewRequest, type ReplyFor, type ToWebviewMessage,
} from '../shared/protocol';
import { vscodeApi } from './vscodeApi';

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
type Push = Exclude<ToWebviewMessage, { inReplyTo: number }>;

/**
 * The webview end of the protocol: requests get a messageId and a promise that settles with the
 * reply, or rejects with the host's ErrorReply message; pushes go to one handler. Every incoming
 * message is validated first, and a malformed one is reported rather than half-used.
 */
export class HostConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: ToWebviewMessage) => void; reject: (e: Error) => void }>();

  constructor(private readonly onPush: (m: Push) => void, private readonly onProtocolError: (e: Error) => void) {
    window.addEventListener('message', (e: MessageEvent) => this.receive(e.data));
  }

  request<T extends FromWebviewRequest['type']>(
    req: { readonly type: T } & DistributiveOmit<Extract<FromWebviewRequest, { type: T }>, 'messageId' | 'type'>,
  ): Promise<ReplyFor[T]> {
    const messageId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(messageId, { resolve: resolve as (m: ToWebviewMessage) => void, reject });
      vscodeApi().postMessage({ ...req, messageId });
    });
  }

  notify(msg: Exclude<FromWebviewMessage, FromWebviewRequest>): void {
    vscodeApi().postMessage(msg);
  }

  private receive(raw: unknown): void {
    let msg: ToWebviewMessage;
    try {
      msg = parseToWebview(raw);
    } catch (err) {
      const id = typeof raw === 'object' && raw !== null ? (raw as { inReplyTo?: unknown }).inReplyTo : undefined;
      const e = err instanceof Error ? err : new ProtocolError(String(err));
      // A malformed reply still settles its request, so the UI does not wait forever.
      if (typeof id === 'number' && this.pending.has(id)) {
        this.pending.get(id)!.reject(e);
        this.pending.delete(id);
      } else {
        this.onProtocolError(e);
      }
      return;
    }
    if ('inReplyTo' in msg) {
      const p = this.pending.get(msg.inReplyTo);
      if (!p) return; // a reply to a request of a previous page load
      this.pending.delete(msg.inReplyTo);
      if (msg.type === MessageType.ErrorReply) p.reject(new Error(msg.message));
      else p.resolve(msg);
      return;
    }
    this.onPush(msg);
  }
}
