import * as vscode from 'vscode';
import {
  messageIdOf, type AnyProtocol, type ErrorReply, type NoteOf, type PushOf, type ReplyBody, type RequestOf, type ToPage,
} from '../shared/channel';
import { ProtocolError } from '../shared/validate';
import { Disposable } from './disposable';
import { errorMessage, type Log } from './log';

export interface PageHandler<P extends AnyProtocol> {
  /** Answers a request; a throw becomes an ErrorReply carrying the error's message. */
  request<R extends RequestOf<P>>(req: R): Promise<ReplyBody<P, R['type']>>;
  /** Handles a notification (a message without messageId). */
  notify(msg: NoteOf<P>): void;
}

/**
 * The host end of one page's protocol: validates every message on arrival (a webview is another
 * process, and a malformed message is rejected and logged, never acted on), routes it, and
 * guarantees that each request gets exactly one reply, an ErrorReply when anything fails, so that
 * a page never waits forever on a request that threw. Generic over the page's protocol, so the host
 * can only send that page's messages.
 */
export class WebviewChannel<P extends AnyProtocol> extends Disposable {
  /** Messages rejected as malformed (tests read it; each is also logged). */
  rejected = 0;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly protocol: P,
    private readonly handler: PageHandler<P>,
    private readonly log: Log,
  ) {
    super();
    this._register(webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)));
  }

  post(message: PushOf<P>): Thenable<boolean> {
    return this.webview.postMessage(message);
  }

  private async receive(raw: unknown): Promise<void> {
    let msg: RequestOf<P> | NoteOf<P>;
    try {
      msg = this.protocol.parseFromPage(raw) as RequestOf<P> | NoteOf<P>;
    } catch (err) {
      this.rejected++;
      this.log.error(`Rejected a message from the ${this.protocol.page} page`, err);
      const id = messageIdOf(raw);
      if (id !== undefined) await this.reply({ type: 'errorReply', inReplyTo: id, message: errorMessage(err) });
      return;
    }
    if (!('messageId' in msg)) {
      this.handler.notify(msg as NoteOf<P>);
      return;
    }
    const req = msg as RequestOf<P>;
    try {
      const body = await this.handler.request(req);
      await this.reply({ ...body, inReplyTo: req.messageId } as ToPage<P>);
    } catch (err) {
      const message = err instanceof ProtocolError ? `Internal protocol error: ${err.message}` : errorMessage(err);
      this.log.error(`Request '${req.type}' of the ${this.protocol.page} page failed`, err);
      await this.reply({ type: 'errorReply', inReplyTo: req.messageId, message } satisfies ErrorReply);
    }
  }

  private async reply(message: ToPage<P>): Promise<void> {
    // postMessage resolves false when the webview is gone (panel closed meanwhile): nothing to do.
    await this.webview.postMessage(message);
  }
}
