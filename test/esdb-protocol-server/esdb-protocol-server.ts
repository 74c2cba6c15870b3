import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Any } from 'google-protobuf/google/protobuf/any_pb';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import {
  SupportedMethod,
  SupportedMethods,
} from '@eventstore/db-client/generated/serverfeatures_pb';
import * as shared from '@eventstore/db-client/generated/shared_pb';
import { Status } from '@eventstore/db-client/generated/status_pb';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import {
  AppendReq,
  AppendResp,
  BatchAppendReq,
  BatchAppendResp,
  ReadReq,
  ReadResp,
} from '@eventstore/db-client/generated/streams_pb';

/**
 * A protocol-level test server, NOT EventStoreDB: an in-memory log behind the gRPC services of
 * `@eventstore/db-client`'s own generated definitions, implementing only what the adapter uses
 * (server features, batch and classic append with an expected revision, stream and `$all`
 * reads with paging and direction, `$all` subscriptions with filters), and a few ways to make it
 * misbehave (system records between ours, dropped calls, failed appends, stalled reads). It
 * records every call and whether the client cancelled it, so tests can find leaked calls.
 *
 * Semantics follow EventStoreDB where the adapter depends on them: `$all` reads include their
 * start position (both directions), subscriptions start after theirs, positions are increasing
 * log offsets with gaps, a missing stream reads as "stream not found", a soft-deleted stream
 * reads as missing but keeps numbering its revisions. What it does not model (links, ACLs,
 * transactions, scavenging, clustering) it does not pretend to.
 */

/** One record of the log. */
export interface StoredRecord {
  readonly streamId: string;
  readonly revision: number;
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  readonly position: bigint;
  readonly created: bigint;
}

/** A gRPC call as the server saw it. */
export interface CallRecord {
  readonly method: 'read' | 'subscribe' | 'batchAppend' | 'append' | 'features';
  /** The stream read, `$all`, or `-` for appends. */
  readonly target: string;
  readonly direction?: 'forwards' | 'backwards';
  /** Responses written (events, confirmations, checkpoints). */
  sent: number;
  /** The server finished the call (status sent). */
  ended: boolean;
  /** The client cancelled it. */
  cancelled: boolean;
  /** The client asked for the leader (`requires-leader` header). */
  requiresLeader?: boolean;
}

/** A failure to inject into the next append. */
export interface AppendFault {
  readonly code: grpc.status;
  /** Write the events first, then fail: the client cannot know they were written. */
  readonly afterWrite?: boolean;
}

/** A failure to answer the next subscription with. */
export interface SubscribeFault {
  readonly code: grpc.status;
  readonly details?: string;
  /** EventStoreDB's `exception` trailer (e.g. `access-denied`), which the client maps. */
  readonly exception?: string;
}

export interface EsdbProtocolServerOptions {
  /** Largest append, in bytes of data and metadata (EventStoreDB's default is 1 MiB). */
  readonly maxAppendSize?: number;
  /** Advertise BatchAppend (as servers from 21.10 do); otherwise the client uses Append. */
  readonly batchAppend?: boolean;
  /**
   * Give events read from a stream their commit position, as servers from 22.6 on do; false
   * sends the older servers' "unknown" (2^64 - 1).
   */
  readonly streamReadPositions?: boolean;
  /** Pause every 50 responses of a read, so a client can stop it midway. */
  readonly readPaceMs?: number;
}

const UNKNOWN_POSITION = '18446744073709551615';
const ALL = '$all';

interface Expected {
  readonly kind: 'any' | 'no_stream' | 'stream_exists' | 'revision';
  readonly revision?: number;
}

type AppendOutcome =
  | { readonly kind: 'ok'; readonly revision: number; readonly position: bigint }
  | { readonly kind: 'wrong'; readonly current: number | undefined; readonly expected: Expected }
  | { readonly kind: 'too-large' };

interface Subscriber {
  readonly call: grpc.ServerWritableStream<ReadReq, ReadResp>;
  readonly record: CallRecord;
  readonly matches: (record: StoredRecord) => boolean;
  after: bigint;
}

interface StreamState {
  readonly records: StoredRecord[];
  /** Revisions below this are hidden (soft delete / truncation). */
  truncateBefore: number;
}

export class EsdbProtocolServer {
  /** Every call, oldest first. */
  readonly calls: CallRecord[] = [];
  private readonly log: StoredRecord[] = [];
  private readonly streams = new Map<string, StreamState>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly openCalls = new Set<{
    readonly record: CallRecord;
    readonly fail: (code: grpc.status, details: string) => void;
  }>();
  private readonly server = new grpc.Server();
  private nextPosition = 1000n;
  private appendFaults: AppendFault[] = [];
  private subscribeFaults: SubscribeFault[] = [];
  private stalledReads = 0;
  /** Runs before each append is decided (e.g. to let another writer in first). */
  beforeAppend: ((streamId: string) => void) | undefined;
  port = 0;

  constructor(private readonly options: EsdbProtocolServerOptions = {}) {
    this.server.addService(ServerFeaturesService, {
      getSupportedMethods: (
        _call: grpc.ServerUnaryCall<shared.Empty, SupportedMethods>,
        callback: grpc.sendUnaryData<SupportedMethods>,
      ) => {
        this.calls.push(newCall('features', '-'));
        const methods = new SupportedMethods();
        methods.setEventStoreServerVersion('24.10.0 (protocol-level test server)');
        const names = ['read', 'append', ...(options.batchAppend === false ? [] : ['batchappend'])];
        for (const name of names) {
          const method = new SupportedMethod();
          method.setServiceName('event_store.client.streams.streams');
          method.setMethodName(name);
          methods.addMethods(method);
        }
        callback(null, methods);
      },
    });
    this.server.addService(StreamsService, {
      read: (call: grpc.ServerWritableStream<ReadReq, ReadResp>) => this.read(call),
      append: (
        call: grpc.ServerReadableStream<AppendReq, AppendResp>,
        callback: grpc.sendUnaryData<AppendResp>,
      ) => this.classicAppend(call, callback),
      batchAppend: (call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>) =>
        this.batchAppend(call),
      delete: (_call: unknown, callback: grpc.sendUnaryData<never>) =>
        callback({ code: grpc.status.UNIMPLEMENTED }),
      tombstone: (_call: unknown, callback: grpc.sendUnaryData<never>) =>
        callback({ code: grpc.status.UNIMPLEMENTED }),
    });
  }

  /** Listens on a free loopback port. */
  async start(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(
        '127.0.0.1:0',
        grpc.ServerCredentials.createInsecure(),
        (error, port) => (error ? reject(error) : resolve(port)),
      ),
    );
    return this;
  }

  /** The connection string for the client (insecure, single node). */
  get connectionString(): string {
    return `esdb://127.0.0.1:${this.port}?tls=false`;
  }

  /** Ends every call and stops listening. */
  async stop(): Promise<void> {
    for (const subscriber of this.subscribers) subscriber.record.ended = true;
    this.subscribers.clear();
    this.server.forceShutdown();
    await Promise.resolve();
  }

  /** Every record of `$all`, oldest first. */
  get records(): readonly StoredRecord[] {
    return this.log;
  }

  /** The calls the server has not finished and the client has not cancelled. */
  get liveCalls(): CallRecord[] {
    return this.calls.filter((call) => !call.ended && !call.cancelled);
  }

  /** Writes `count` system records: `$`-typed events, and events in `$` streams. */
  writeSystemEvents(count: number): void {
    for (let i = 0; i < count; i += 1) {
      if (i % 3 === 2) this.writeRaw(`$ce-test`, 'SomethingHappened', {}, {});
      else if (i % 3 === 1) this.writeRaw(`$$test-${i}`, '$metadata', { $maxAge: 10 }, undefined);
      else this.writeRaw('$stats-127.0.0.1:2113', '$statsCollected', { n: i }, undefined);
    }
  }

  /** Appends a record as another writer would, bypassing every check. */
  writeRaw(streamId: string, type: string, data: unknown, metadata: unknown, id?: string): void {
    this.store(streamId, [
      {
        id: id ?? randomUUID(),
        type,
        contentType: 'application/json',
        data: Buffer.from(JSON.stringify(data)),
        customMetadata:
          metadata === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(metadata)),
      },
    ]);
  }

  /** Appends a copy of the stream's last event under a new id (a competing writer). */
  writeCopyOfLast(streamId: string): void {
    const last = this.visible(streamId).at(-1);
    if (!last) throw new Error(`no events in ${streamId}`);
    this.store(streamId, [{ ...last, id: randomUUID() }]);
  }

  /** Hides the stream's events from reads, as a soft delete does; revisions go on. */
  softDelete(streamId: string): void {
    const state = this.streams.get(streamId);
    if (state) state.truncateBefore = state.records.length;
  }

  /** The next append (batch or classic) fails with this, once. */
  failNextAppend(fault: AppendFault): void {
    this.appendFaults.push(fault);
  }

  /** The next subscription fails at once with this. */
  failNextSubscription(fault: SubscribeFault): void {
    this.subscribeFaults.push(fault);
  }

  /** The next `count` reads send nothing and never end (until cancelled). */
  stallReads(count = 1): void {
    this.stalledReads += count;
  }

  /** Ends every open call with this status, as a dropped connection or a restart would. */
  dropCalls(code = grpc.status.UNAVAILABLE, details = 'connection dropped by the test'): void {
    for (const open of [...this.openCalls]) open.fail(code, details);
  }

  // ---- reads and subscriptions ---------------------------------------------------------------

  private read(call: grpc.ServerWritableStream<ReadReq, ReadResp>): void {
    const options = call.request.getOptions()!;
    const subscribing = options.hasSubscription();
    const target = options.hasStream()
      ? Buffer.from(options.getStream()!.getStreamIdentifier()!.getStreamName_asU8()).toString()
      : ALL;
    const backwards = options.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
    const record = newCall(
      subscribing ? 'subscribe' : 'read',
      target,
      backwards ? 'backwards' : 'forwards',
    );
    record.requiresLeader = call.metadata.get('requires-leader').includes('true');
    const { open, finish } = this.track(record, call);
    if (subscribing) return this.subscribe(call, record, options, open.fail);
    if (this.stalledReads > 0) {
      this.stalledReads -= 1;
      return;
    }
    const count = Number(options.getCount());
    let records: StoredRecord[];
    if (options.hasStream()) {
      const visible = this.visible(target);
      if (visible.length === 0) {
        const notFound = new ReadResp.StreamNotFound();
        notFound.setStreamIdentifier(options.getStream()!.getStreamIdentifier());
        const resp = new ReadResp();
        resp.setStreamNotFound(notFound);
        call.write(resp);
        record.sent += 1;
        return finish();
      }
      const stream = options.getStream()!;
      const last = visible[visible.length - 1]!.revision;
      const from = stream.hasRevision()
        ? Number(stream.getRevision())
        : stream.hasEnd()
          ? backwards
            ? last
            : last + 1
          : backwards
            ? -1
            : 0;
      records = backwards
        ? visible.filter((r) => r.revision <= from).reverse()
        : visible.filter((r) => r.revision >= from);
    } else {
      const all = options.getAll()!;
      const from = all.hasPosition()
        ? BigInt(all.getPosition()!.getCommitPosition())
        : all.hasEnd()
          ? backwards
            ? BigInt(Number.MAX_SAFE_INTEGER)
            : this.nextPosition
          : backwards
            ? -1n
            : 0n;
      // Inclusive of the start, in both directions, as EventStoreDB's $all reads are.
      records = backwards
        ? this.log.filter((r) => r.position <= from).reverse()
        : this.log.filter((r) => r.position >= from);
      if (options.hasFilter()) records = records.filter(matcher(options.getFilter()!));
    }
    const responses = records
      .slice(0, count)
      .map((r) =>
        eventResponse(r, !options.hasStream() || this.options.streamReadPositions !== false),
      );
    void this.send(call, record, responses).then(finish, () => undefined);
  }

  private subscribe(
    call: grpc.ServerWritableStream<ReadReq, ReadResp>,
    record: CallRecord,
    options: ReadReq.Options,
    fail: (code: grpc.status, details: string) => void,
  ): void {
    const fault = this.subscribeFaults.shift();
    if (fault) {
      const metadata = new grpc.Metadata();
      if (fault.exception) metadata.set('exception', fault.exception);
      record.ended = true;
      call.emit('error', { code: fault.code, details: fault.details ?? 'refused', metadata });
      return;
    }
    if (!options.hasAll()) {
      fail(grpc.status.UNIMPLEMENTED, 'only $all subscriptions');
      return;
    }
    let matches: (r: StoredRecord) => boolean;
    try {
      matches = options.hasFilter() ? matcher(options.getFilter()!) : () => true;
    } catch (error) {
      fail(grpc.status.INVALID_ARGUMENT, (error as Error).message);
      return;
    }
    const all = options.getAll()!;
    const after = all.hasPosition()
      ? BigInt(all.getPosition()!.getCommitPosition())
      : all.hasEnd()
        ? this.nextPosition - 1n
        : -1n;
    const confirmation = new ReadResp.SubscriptionConfirmation();
    confirmation.setSubscriptionId(randomUUID());
    const resp = new ReadResp();
    resp.setConfirmation(confirmation);
    call.write(resp);
    record.sent += 1;
    const subscriber: Subscriber = { call, record, matches, after };
    this.subscribers.add(subscriber);
    call.on('cancelled', () => this.subscribers.delete(subscriber));
    this.pump(subscriber);
    const caughtUp = new ReadResp();
    caughtUp.setCaughtUp(new ReadResp.CaughtUp());
    call.write(caughtUp);
  }

  // Sends a subscriber everything after its position (synchronously: nothing can come between).
  private pump(subscriber: Subscriber): void {
    if (subscriber.record.cancelled || subscriber.record.ended) {
      this.subscribers.delete(subscriber);
      return;
    }
    for (const r of this.log) {
      if (r.position <= subscriber.after) continue;
      subscriber.after = r.position;
      if (!subscriber.matches(r)) continue;
      subscriber.call.write(eventResponse(r, true));
      subscriber.record.sent += 1;
    }
  }

  private async send(
    call: grpc.ServerWritableStream<ReadReq, ReadResp>,
    record: CallRecord,
    responses: ReadResp[],
  ): Promise<void> {
    const pace = this.options.readPaceMs ?? 0;
    for (let i = 0; i < responses.length; i += 1) {
      if (record.cancelled || record.ended) throw new Error('gone');
      const flushed = call.write(responses[i]!);
      record.sent += 1;
      if (!flushed)
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off('drain', done);
            call.off('cancelled', done);
            resolve();
          };
          call.on('drain', done);
          call.on('cancelled', done);
        });
      if (pace > 0 && i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, pace));
      else if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
    }
    if (record.cancelled || record.ended) throw new Error('gone');
  }

  /**
   * Records a call and keeps it among the open ones until it ends, fails or is cancelled:
   * `open.fail` ends it with a gRPC error (a dropped connection fails every open call), `finish`
   * ends it normally.
   */
  private track(
    record: CallRecord,
    call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  ) {
    this.calls.push(record);
    const open = {
      record,
      fail: (code: grpc.status, details: string) => {
        this.openCalls.delete(open);
        if (record.ended || record.cancelled) return;
        record.ended = true;
        call.emit('error', { code, details });
      },
    };
    this.openCalls.add(open);
    call.on('cancelled', () => {
      record.cancelled = true;
      this.openCalls.delete(open);
    });
    const finish = () => {
      this.openCalls.delete(open);
      if (record.ended || record.cancelled) return;
      record.ended = true;
      call.end();
    };
    return { open, finish };
  }

  // ---- appends -------------------------------------------------------------------------------

  private batchAppend(call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>): void {
    const record = newCall('batchAppend', '-');
    const { open, finish } = this.track(record, call);
    const pending = new Map<
      string,
      { options: BatchAppendReq.Options; messages: BatchAppendReq.ProposedMessage[] }
    >();
    call.on('data', (req: BatchAppendReq) => {
      const key = uuidOf(req.getCorrelationId());
      let batch = pending.get(key);
      if (!batch) {
        batch = { options: req.getOptions()!, messages: [] };
        pending.set(key, batch);
      }
      batch.messages.push(...req.getProposedMessagesList());
      if (!req.getIsFinal()) return;
      pending.delete(key);
      const options = batch.options;
      const streamId = Buffer.from(options.getStreamIdentifier()!.getStreamName_asU8()).toString();
      const fault = this.appendFaults.shift();
      if (fault && !fault.afterWrite) return open.fail(fault.code, 'append failed (injected)');
      const outcome = this.append(streamId, expectedOfBatch(options), batch.messages);
      // A failure of the shared stream rejects every append in flight, written or not.
      if (fault) return open.fail(fault.code, 'append stream failed after the write (injected)');
      const resp = new BatchAppendResp();
      resp.setCorrelationId(req.getCorrelationId());
      resp.setStreamIdentifier(options.getStreamIdentifier());
      if (outcome.kind === 'ok') {
        const success = new BatchAppendResp.Success();
        success.setCurrentRevision(String(outcome.revision));
        const position = new shared.AllStreamPosition();
        position.setCommitPosition(String(outcome.position));
        position.setPreparePosition(String(outcome.position));
        success.setPosition(position);
        resp.setSuccess(success);
      } else resp.setError(errorStatus(outcome, this.maxAppendSize));
      call.write(resp);
      record.sent += 1;
    });
    call.on('end', finish);
  }

  private classicAppend(
    call: grpc.ServerReadableStream<AppendReq, AppendResp>,
    callback: grpc.sendUnaryData<AppendResp>,
  ): void {
    const record = newCall('append', '-');
    this.calls.push(record);
    let options: AppendReq.Options | undefined;
    const messages: AppendReq.ProposedMessage[] = [];
    call.on('cancelled', () => (record.cancelled = true));
    call.on('data', (req: AppendReq) => {
      if (req.hasOptions()) options = req.getOptions();
      else messages.push(req.getProposedMessage()!);
    });
    call.on('end', () => {
      record.ended = true;
      const streamId = Buffer.from(options!.getStreamIdentifier()!.getStreamName_asU8()).toString();
      const fault = this.appendFaults.shift();
      if (fault && !fault.afterWrite) return callback({ code: fault.code, details: 'injected' });
      const expected: Expected = options!.hasRevision()
        ? { kind: 'revision', revision: Number(options!.getRevision()) }
        : options!.hasNoStream()
          ? { kind: 'no_stream' }
          : options!.hasStreamExists()
            ? { kind: 'stream_exists' }
            : { kind: 'any' };
      const outcome = this.append(streamId, expected, messages);
      if (fault) return callback({ code: fault.code, details: 'injected after the write' });
      const resp = new AppendResp();
      if (outcome.kind === 'ok') {
        const success = new AppendResp.Success();
        success.setCurrentRevision(String(outcome.revision));
        const position = new AppendResp.Position();
        position.setCommitPosition(String(outcome.position));
        position.setPreparePosition(String(outcome.position));
        success.setPosition(position);
        resp.setSuccess(success);
        return callback(null, resp);
      }
      if (outcome.kind === 'too-large') {
        const metadata = new grpc.Metadata();
        metadata.set('exception', 'maximum-append-size-exceeded');
        metadata.set('maximum-append-size', String(this.maxAppendSize));
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'too large', metadata });
      }
      const wrong = new AppendResp.WrongExpectedVersion();
      if (outcome.current === undefined) wrong.setCurrentNoStream(new shared.Empty());
      else wrong.setCurrentRevision(String(outcome.current));
      resp.setWrongExpectedVersion(wrong);
      callback(null, resp);
    });
  }

  private get maxAppendSize(): number {
    return this.options.maxAppendSize ?? 8 * 1024 * 1024;
  }

  private append(
    streamId: string,
    expected: Expected,
    messages: readonly (BatchAppendReq.ProposedMessage | AppendReq.ProposedMessage)[],
  ): AppendOutcome {
    this.beforeAppend?.(streamId);
    const size = messages.reduce(
      (sum, m) => sum + m.getData_asU8().length + m.getCustomMetadata_asU8().length,
      0,
    );
    if (size > this.maxAppendSize) return { kind: 'too-large' };
    const visible = this.visible(streamId);
    const current = visible.length ? visible[visible.length - 1]!.revision : undefined;
    const ok =
      expected.kind === 'any' ||
      (expected.kind === 'no_stream' && current === undefined) ||
      (expected.kind === 'stream_exists' && current !== undefined) ||
      (expected.kind === 'revision' && current === expected.revision);
    if (!ok) return { kind: 'wrong', current, expected };
    const stored = this.store(
      streamId,
      messages.map((m) => ({
        id: uuidOf(m.getId()),
        type: m.getMetadataMap().get('type') ?? '',
        contentType: m.getMetadataMap().get('content-type') ?? 'application/octet-stream',
        data: m.getData_asU8(),
        customMetadata: m.getCustomMetadata_asU8(),
      })),
    );
    const last = stored[stored.length - 1]!;
    return { kind: 'ok', revision: last.revision, position: last.position };
  }

  private store(
    streamId: string,
    events: readonly Pick<
      StoredRecord,
      'id' | 'type' | 'contentType' | 'data' | 'customMetadata'
    >[],
  ): StoredRecord[] {
    let state = this.streams.get(streamId);
    if (!state) {
      state = { records: [], truncateBefore: 0 };
      this.streams.set(streamId, state);
    }
    const stored = events.map((event) => {
      const record: StoredRecord = {
        ...event,
        streamId,
        revision: state.records.length,
        position: this.nextPosition,
        created: BigInt(Date.now()) * 10_000n,
      };
      // Log offsets: increasing, with gaps (a record's size and then some).
      this.nextPosition += 100n + BigInt(event.data.length + event.customMetadata.length);
      state.records.push(record);
      this.log.push(record);
      return record;
    });
    for (const subscriber of [...this.subscribers]) this.pump(subscriber);
    return stored;
  }

  private visible(streamId: string): StoredRecord[] {
    const state = this.streams.get(streamId);
    return state ? state.records.filter((r) => r.revision >= state.truncateBefore) : [];
  }
}

function newCall(
  method: CallRecord['method'],
  target: string,
  direction?: CallRecord['direction'],
): CallRecord {
  return {
    method,
    target,
    ...(direction ? { direction } : {}),
    sent: 0,
    ended: false,
    cancelled: false,
  };
}

function uuidOf(uuid: shared.UUID | undefined): string {
  if (!uuid) return '';
  if (uuid.hasString()) return uuid.getString();
  const structured = uuid.getStructured()!;
  const hex =
    BigInt.asUintN(64, BigInt(structured.getMostSignificantBits())).toString(16).padStart(16, '0') +
    BigInt.asUintN(64, BigInt(structured.getLeastSignificantBits())).toString(16).padStart(16, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function expectedOfBatch(options: BatchAppendReq.Options): Expected {
  if (options.hasStreamPosition())
    return { kind: 'revision', revision: Number(options.getStreamPosition()) };
  if (options.hasNoStream()) return { kind: 'no_stream' };
  if (options.hasStreamExists()) return { kind: 'stream_exists' };
  return { kind: 'any' };
}

// The google.rpc.Status a batch append answers a refused append with, details packed as
// EventStoreDB packs them (the client reads the type name to pick the error).
function errorStatus(
  outcome: Exclude<AppendOutcome, { kind: 'ok' }>,
  maxAppendSize: number,
): Status {
  const status = new Status();
  const details = new Any();
  if (outcome.kind === 'too-large') {
    const tooLarge = new shared.MaximumAppendSizeExceeded();
    tooLarge.setMaxappendsize(maxAppendSize);
    details.pack(tooLarge.serializeBinary(), 'event_store.client.MaximumAppendSizeExceeded');
    status.setCode(3);
    status.setMessage('Maximum Append Size Exceeded');
  } else {
    const wrong = new shared.WrongExpectedVersion();
    if (outcome.current === undefined) wrong.setCurrentNoStream(new shared.Empty());
    else wrong.setCurrentStreamRevision(String(outcome.current));
    const expected = outcome.expected;
    if (expected.kind === 'revision') wrong.setExpectedStreamPosition(String(expected.revision));
    else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new shared.Empty());
    else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new shared.Empty());
    else wrong.setExpectedAny(new shared.Empty());
    details.pack(wrong.serializeBinary(), 'event_store.client.WrongExpectedVersion');
    status.setCode(9);
    status.setMessage('Wrong Expected Version');
  }
  status.setDetails(details);
  return status;
}

function matcher(filter: ReadReq.Options.FilterOptions): (record: StoredRecord) => boolean {
  const onType = filter.hasEventType();
  const expression = onType ? filter.getEventType()! : filter.getStreamIdentifier()!;
  const regex = expression.getRegex() ? new RegExp(expression.getRegex()) : undefined;
  const prefixes = expression.getPrefixList();
  return (record) => {
    const value = onType ? record.type : record.streamId;
    if (regex && !regex.test(value)) return false;
    return prefixes.length === 0 || prefixes.some((prefix) => value.startsWith(prefix));
  };
}

function eventResponse(record: StoredRecord, withPosition: boolean): ReadResp {
  const event = new ReadResp.ReadEvent.RecordedEvent();
  const id = new shared.UUID();
  id.setString(record.id);
  event.setId(id);
  const stream = new shared.StreamIdentifier();
  stream.setStreamName(Buffer.from(record.streamId));
  event.setStreamIdentifier(stream);
  event.setStreamRevision(String(record.revision));
  event.setCommitPosition(withPosition ? String(record.position) : UNKNOWN_POSITION);
  event.setPreparePosition(withPosition ? String(record.position) : UNKNOWN_POSITION);
  event.getMetadataMap().set('type', record.type);
  event.getMetadataMap().set('content-type', record.contentType);
  event.getMetadataMap().set('created', String(record.created));
  event.setCustomMetadata(record.customMetadata);
  event.setData(record.data);
  const read = new ReadResp.ReadEvent();
  read.setEvent(event);
  if (withPosition) read.setCommitPosition(String(record.position));
  else read.setNoPosition(new shared.Empty());
  const resp = new ReadResp();
  resp.setEvent(read);
  return resp;
}
