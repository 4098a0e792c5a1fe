import {
  parseToPage, type AnyProtocol, type NoteOf, type PushOf, type ReplyTo, type RequestBody, type RequestOf, type ToPage,
} from '../shared/channel';
import { ProtocolError } from '../shared/validate';
import { vscodeApi } from './vscodeApi';

/**
 * The page end of a page's protocol: requests get a messageId and a promise that settles with the
 * reply, or rejects with the host's ErrorReply message; pushes go to one handler. Every incoming
 * message is validated first, and a malformed one is reported rather than half-used. Generic over
 * the page's protocol, so a page can only send and receive its own messages.
 */
export class HostConnection<P extends AnyProtocol> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: ToPage<P>) => void; reject: (e: Error) => void }>();

  constructor(
    readonly protocol: P,
    private readonly onPush: (m: PushOf<P>) => void,
    private readonly onProtocolError: (e: Error) => void,
  ) {
    window.addEventListener('message', (e: MessageEvent) => this.receive(e.data));
  }

  request<T extends RequestOf<P>['type']>(req: RequestBody<P, T>): Promise<ReplyTo<P, T>> {
    const messageId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(messageId, { resolve: resolve as (m: ToPage<P>) => void, reject });
      vscodeApi().postMessage({ ...req, messageId });
    });
  }

  notify(msg: NoteOf<P>): void {
    vscodeApi().postMessage(msg);
  }

  private receive(raw: unknown): void {
    let msg: ToPage<P>;
    try {
      msg = parseToPage(this.protocol, raw);
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
      if (msg.type === 'errorReply') p.reject(new Error((msg as { message: string }).message));
      else p.resolve(msg);
      return;
    }
    this.onPush(msg as PushOf<P>);
  }
}
