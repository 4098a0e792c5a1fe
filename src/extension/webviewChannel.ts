import * as vscode from 'vscode';
import {
  MessageType, ProtocolError, messageIdOf, parseFromWebview,
  type FromWebviewMessage, type FromWebviewRequest, type ReplyFor, type ToWebviewMessage,
} from '../shared/protocol';
import { Disposable } from './disposable';
import { errorMessage, type Log } from './log';

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
/** A reply as a handler returns it; the channel adds `inReplyTo`. */
export type ReplyBody<R extends FromWebviewRequest> = DistributiveOmit<ReplyFor[R['type']], 'inReplyTo'>;
export type PushMessage = Exclude<ToWebviewMessage, { inReplyTo: number }>;

export interface WebviewHandler {
  /** Answers a request; a throw becomes an ErrorReply carrying the error's message. */
  request<R extends FromWebviewRequest>(req: R): Promise<ReplyBody<R>>;
  /** Handles a notification (a message without messageId). */
  notify(msg: Exclude<FromWebviewMessage, FromWebviewRequest>): void;
}

/**
 * The host end of the protocol for one webview: validates every message on arrival, routes it, and
 * guarantees that each request gets exactly one reply, an ErrorReply when anything fails, so that
 * a webview never waits forever on a request that threw.
 */
export class WebviewChannel extends Disposable {
  constructor(
    private readonly webview: vscode.Webview,
    private readonly handler: WebviewHandler,
    private readonly log: Log,
  ) {
    super();
    this._register(webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)));
  }

  post(message: PushMessage): Thenable<boolean> {
    return this.webview.postMessage(message);
  }

  private async receive(raw: unknown): Promise<void> {
    let msg: FromWebviewMessage;
    try {
      msg = parseFromWebview(raw);
    } catch (err) {
      this.log.error('Rejected a message from the webview', err);
      const id = messageIdOf(raw);
      if (id !== undefined) await this.reply({ type: MessageType.ErrorReply, inReplyTo: id, message: errorMessage(err) });
      return;
    }
    if (!('messageId' in msg)) {
      this.handler.notify(msg);
      return;
    }
    try {
      const body = await this.handler.request(msg);
      await this.reply({ ...body, inReplyTo: msg.messageId } as ToWebviewMessage);
    } catch (err) {
      const message = err instanceof ProtocolError ? `Internal protocol error: ${err.message}` : errorMessage(err);
      this.log.error(`Request '${msg.type}' failed`, err);
      await this.reply({ type: MessageType.ErrorReply, inReplyTo: msg.messageId, message });
    }
  }

  private async reply(message: ToWebviewMessage): Promise<void> {
    // postMessage resolves false when the webview is gone (panel closed meanwhile): nothing to do.
    await this.webview.postMessage(message);
  }
}
