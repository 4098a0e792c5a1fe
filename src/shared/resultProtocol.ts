/**
 * The protocol of a page that shows one result (Classify Image, Compare Preprocessing): the page
 * says it is ready and gets the result; a newer result for the same panel is pushed. Only the
 * result's type and its validator differ from page to page.
 */
import { defineProtocol, type PageProtocol, type ReadyRequest } from './channel';
import type { Obj } from './validate';

export interface ResultDataReply<T extends string, D> { readonly type: T; readonly inReplyTo: number; readonly data: D }
export interface ResultChangedPush<T extends string, D> { readonly type: T; readonly data: D }

export type ResultPageProtocol<DataType extends string, ChangedType extends string, D> = PageProtocol<
  ReadyRequest, { readonly ready: ResultDataReply<DataType, D> }, ResultChangedPush<ChangedType, D>, never>;

export function resultPageProtocol<DataType extends string, ChangedType extends string, D>(
  page: string, dataType: DataType, changedType: ChangedType, check: (v: unknown, where: string) => D,
): ResultPageProtocol<DataType, ChangedType, D> {
  const data = (o: Obj, type: string): void => { check(o.data, `${type}.data`); };
  return defineProtocol<ReadyRequest, { readonly ready: ResultDataReply<DataType, D> }, ResultChangedPush<ChangedType, D>, never>(page, {
    requests: { ready: () => {} },
    notes: {},
    replies: { [dataType]: data } as { readonly [T in DataType]: typeof data },
    pushes: { [changedType]: data } as { readonly [T in ChangedType]: typeof data },
  });
}
