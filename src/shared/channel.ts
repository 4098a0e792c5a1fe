/**
 * The framing every webview page's protocol shares (after vscode-hexeditor's MessageHandler, with
 * the error reply it lacks). A page sends requests with a `messageId`; the host answers each with
 * exactly one reply carrying `inReplyTo`: the success reply, or an ErrorReply with a sentence the
 * page shows. The host may also push messages, and the page may send notifications (no reply).
 *
 * Each page declares its own protocol (comparisonProtocol.ts, checkpointProtocol.ts,
 * classificationProtocol.ts) as a PageProtocol; the host end (src/extension/webviewChannel.ts) and
 * the page end (src/webview/messaging.ts) are generic over it, so a message for another page
 * does not compile. Imports nothing, so the webview bundles can include it.
 */
import { ProtocolError, int, obj, str, type Obj } from './validate';

export interface RequestBase {
  readonly type: string;
  readonly messageId: number;
}
/** The request every page sends first: it has loaded and wants its data. */
export interface ReadyRequest extends RequestBase { readonly type: 'ready' }
export interface ReplyBase {
  readonly type: string;
  readonly inReplyTo: number;
}
export interface ErrorReply {
  readonly type: 'errorReply';
  readonly inReplyTo: number;
  readonly message: string;
}

/** One page's messages (as phantom types) and the validators both ends run on arrival. */
export interface PageProtocol<
  Req extends RequestBase,
  Replies extends { readonly [K in Req['type']]: ReplyBase },
  Push extends { readonly type: string },
  Note extends { readonly type: string },
> {
  readonly page: string;
  /** Validates what a page sent; throws ProtocolError naming the field. */
  parseFromPage(raw: unknown): Req | Note;
  /** Validates what the host sent (replies other than ErrorReply, and pushes). */
  parseToPage(raw: unknown): Replies[Req['type']] | Push;
  /** Type carrier only; never set. */
  readonly types?: { readonly request: Req; readonly replies: Replies; readonly push: Push; readonly note: Note };
}

export type AnyProtocol = PageProtocol<any, any, any, any>;
type Types<P extends AnyProtocol> = NonNullable<P['types']>;
export type RequestOf<P extends AnyProtocol> = Types<P>['request'];
export type RepliesOf<P extends AnyProtocol> = Types<P>['replies'];
export type PushOf<P extends AnyProtocol> = Types<P>['push'];
export type NoteOf<P extends AnyProtocol> = Types<P>['note'];
export type ReplyTo<P extends AnyProtocol, T extends RequestOf<P>['type']> = RepliesOf<P>[T];
export type ToPage<P extends AnyProtocol> = RepliesOf<P>[RequestOf<P>['type']] | ErrorReply | PushOf<P>;

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
/** A reply as a host handler returns it; the channel adds `inReplyTo`. */
export type ReplyBody<P extends AnyProtocol, T extends RequestOf<P>['type']> = DistributiveOmit<ReplyTo<P, T>, 'inReplyTo'>;
/** A request as a page makes it; the connection adds `messageId`. */
export type RequestBody<P extends AnyProtocol, T extends RequestOf<P>['type']> =
  { readonly type: T } & DistributiveOmit<Extract<RequestOf<P>, { type: T }>, 'messageId' | 'type'>;

/** The page end's check of an incoming message: an ErrorReply is the same on every page. */
export function parseToPage<P extends AnyProtocol>(protocol: P, raw: unknown): ToPage<P> {
  const o = obj(raw, `to ${protocol.page} page`);
  if (o.type === 'errorReply') {
    int(o, 'inReplyTo', 'errorReply');
    str(o, 'message', 'errorReply');
    return o as unknown as ErrorReply;
  }
  return protocol.parseToPage(raw) as ToPage<P>;
}

/** The messageId of a raw message, when it has one: lets a receiver error-reply even to a malformed request. */
export function messageIdOf(raw: unknown): number | undefined {
  if (typeof raw === 'object' && raw !== null && Number.isInteger((raw as Record<string, unknown>).messageId)) {
    return (raw as Record<string, unknown>).messageId as number;
  }
  return undefined;
}

function unknownType(page: string, direction: 'sent to' | 'sent by', type: string): never {
  throw new ProtocolError(`Unknown message type '${type}' ${direction} the ${page} page.`);
}

export function assertNever(x: never, what: string): never {
  throw new ProtocolError(`Unhandled ${what}: ${JSON.stringify(x)}.`);
}

/** Checks one message's own fields (the framing, type and messageId or inReplyTo, is checked already). */
export type FieldCheck = (o: Obj, type: string) => void;
type ChecksFor<M extends { readonly type: string }> = { readonly [T in M['type']]: FieldCheck };

/**
 * A page's validators from one table per kind of message: a protocol lists each message's own
 * fields once, and the framing (an unknown type, a missing messageId or inReplyTo) is checked here
 * the same way for every page. The tables are keyed by the message types, so a message the page's
 * types declare but the table forgets does not compile.
 */
export function defineProtocol<
  Req extends RequestBase,
  Replies extends { readonly [K in Req['type']]: ReplyBase },
  Push extends { readonly type: string },
  Note extends { readonly type: string },
>(page: string, checks: {
  readonly requests: ChecksFor<Req>;
  readonly notes: ChecksFor<Note>;
  readonly replies: ChecksFor<Replies[Req['type']]>;
  readonly pushes: ChecksFor<Push>;
}): PageProtocol<Req, Replies, Push, Note> {
  const parse = (raw: unknown, direction: 'sent to' | 'sent by', framed: Readonly<Record<string, FieldCheck>>,
    frame: 'inReplyTo' | 'messageId', bare: Readonly<Record<string, FieldCheck>>): Obj => {
    const where = `${direction === 'sent to' ? 'to' : 'from'} the ${page} page`;
    const o = obj(raw, where);
    const type = str(o, 'type', where);
    // Own properties only: a message typed 'constructor' or '__proto__' is unknown, not a check.
    if (Object.prototype.hasOwnProperty.call(framed, type)) {
      int(o, frame, type);
      framed[type](o, type);
    } else if (Object.prototype.hasOwnProperty.call(bare, type)) {
      bare[type](o, type);
    } else {
      unknownType(page, direction, type);
    }
    return o;
  };
  return {
    page,
    parseFromPage: (raw) => parse(raw, 'sent by', checks.requests, 'messageId', checks.notes) as unknown as Req | Note,
    parseToPage: (raw) => parse(raw, 'sent to', checks.replies, 'inReplyTo', checks.pushes) as unknown as Replies[Req['type']] | Push,
  };
}
