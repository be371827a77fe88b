// Large request bodies are scanned in worker threads: a 40 MiB body takes the DLP engine about
// 100 ms, which on the proxy's own thread would stall every other request of every client.
// Each worker builds the same scanner from the same options; a body's memory is moved to the
// worker and back, never copied. A worker that dies fails its scans (the caller refuses those
// requests) and is replaced by the next scan. Known secret values reach workers only through
// workerData, in memory: never argv, env or a file.
import { availableParallelism } from "node:os";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { DlpVerdict, ScanTarget } from "./scan-types.js";
import { createDlpScanner, type DlpScannerOptions } from "./scanner.js";

/** What workers are given: scanner options without functions (default rules only). */
export type WorkerScannerOptions = Omit<DlpScannerOptions, "rules">;

/** Marks a worker started by this pool, for the module that serves as its entry point. */
export const SCAN_WORKER_ROLE = "claude-bottle-dlp-scan";

interface ScanRequest {
  id: number;
  target: ScanTarget;
  allowedSecrets: string[];
}

type ScanReply =
  | { id: number; verdict: DlpVerdict; bytes: Uint8Array | undefined }
  | { id: number; error: string; bytes: Uint8Array | undefined };

export interface ScanResult {
  verdict: DlpVerdict;
  /** The body's bytes, back from the worker (the target's own buffer was moved there). */
  body: Uint8Array | undefined;
}

export interface ScanWorkerPool {
  /** Scans `target`; its body buffer is unusable afterwards: use the result's `body`. */
  scan(target: ScanTarget, allowedSecrets?: ReadonlySet<string>): Promise<ScanResult>;
  /**
   * Ends the workers once their scans are done. A scan asked for later starts a worker again:
   * a request that took a policy just before a reload replaced it still gets scanned.
   */
  close(): Promise<void>;
}

interface Pending {
  resolve: (result: ScanResult) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Ends this worker once it has been idle for the pool's idleMs. */
  idleTimer: NodeJS.Timeout | undefined;
  /** Rejects every pending scan and takes the worker out of the pool. */
  fail(why: string): void;
}

/** See createScanWorkerPool's idleMs. */
export const DEFAULT_SCAN_WORKER_IDLE_MS = 120_000;

export function defaultScanThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export interface ScanWorkerPoolOptions {
  /**
   * A module that calls serveScanRequests() when it runs in a worker whose workerData.role
   * is SCAN_WORKER_ROLE (pipelock's bundle does).
   */
  entry: URL;
  scanner: WorkerScannerOptions;
  threads?: number;
  /**
   * A worker still busy with one scan after this long is ended, failing all of its scans. The
   * engine is linear (a 40 MiB body takes about 0.1 s), so this is a guard, not a budget.
   */
  scanTimeoutMs?: number;
  /**
   * A worker with no scan for this long is ended, and the next large body starts one again
   * (the entry module is loaded anew: 0.3-0.7 s on a busy 2-core machine, paid by that
   * body; hence minutes, not seconds, so an agent's pauses between model calls rarely pay
   * it). A worker keeps what its heap grew to with the bodies it scanned for as long as it
   * lives: in a bottle, after twenty 6 MiB uploads, ending it gave back about 70 MiB.
   */
  idleMs?: number;
}

export function createScanWorkerPool(options: ScanWorkerPoolOptions): ScanWorkerPool {
  return new WorkerPool(options);
}

class WorkerPool implements ScanWorkerPool {
  readonly #options: ScanWorkerPoolOptions;
  readonly #threads: number;
  readonly #scanTimeoutMs: number;
  readonly #idleMs: number;
  readonly #slots: (Slot | undefined)[];
  #nextId = 1;
  /** Told when the last scan in flight has settled (close waits for it). */
  #idle: (() => void) | undefined;

  constructor(options: ScanWorkerPoolOptions) {
    this.#options = options;
    this.#threads = options.threads ?? defaultScanThreads();
    this.#scanTimeoutMs = options.scanTimeoutMs ?? 30_000;
    this.#idleMs = options.idleMs ?? DEFAULT_SCAN_WORKER_IDLE_MS;
    this.#slots = new Array(this.#threads).fill(undefined);
  }

  scan(target: ScanTarget, allowedSecrets?: ReadonlySet<string>): Promise<ScanResult> {
    const slot = this.#leastBusy();
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const id = this.#nextId++;
    const moved = movable(target);
    const request: ScanRequest = {
      id,
      target: moved.target,
      allowedSecrets: [...(allowedSecrets ?? [])],
    };
    let timer: NodeJS.Timeout | undefined;
    return new Promise<ScanResult>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage(request, moved.transfer);
      timer = setTimeout(() => {
        slot.fail(`did not answer within ${this.#scanTimeoutMs} ms`);
        void slot.worker.terminate();
      }, this.#scanTimeoutMs);
    }).finally(() => {
      clearTimeout(timer);
      if (slot.pending.size > 0) return;
      slot.worker.unref();
      if (this.#slots.includes(slot)) this.#endWhenIdle(slot);
    });
  }

  async close(): Promise<void> {
    while (this.#inFlight() > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    this.#idle = undefined;
    const threads = this.#threads;
    const ending = this.#slots.splice(0, threads, ...new Array<undefined>(threads).fill(undefined));
    for (const s of ending) clearTimeout(s?.idleTimer);
    await Promise.all(ending.map((s) => s?.worker.terminate()));
  }

  /** Ends `slot`'s worker once it has had no scan for idleMs. */
  #endWhenIdle(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (slot.pending.size > 0) return;
      const index = this.#slots.indexOf(slot);
      if (index !== -1) this.#slots[index] = undefined;
      void slot.worker.terminate();
    }, this.#idleMs).unref();
  }

  #inFlight(): number {
    return this.#slots.reduce((n, s) => n + (s?.pending.size ?? 0), 0);
  }

  #settled(): void {
    if (this.#inFlight() === 0) this.#idle?.();
  }

  #leastBusy(): Slot {
    const slots = this.#slots;
    let best = 0;
    for (let i = 0; i < this.#threads; i++) {
      const slot = slots[i];
      if (slot === undefined) return this.#start(i);
      if (slot.pending.size < (slots[best]?.pending.size ?? 0)) best = i;
    }
    return slots[best] ?? this.#start(best);
  }

  #start(index: number): Slot {
    const worker = new Worker(this.#options.entry, {
      workerData: { role: SCAN_WORKER_ROLE, scanner: this.#options.scanner },
    });
    const fail = (why: string) => {
      if (this.#slots[index] === slot) this.#slots[index] = undefined;
      const pending = [...slot.pending.values()];
      slot.pending.clear();
      for (const p of pending) p.reject(new Error(`the DLP scan worker ${why}`));
      this.#settled();
    };
    const slot: Slot = { worker, pending: new Map(), idleTimer: undefined, fail };
    worker.on("message", (reply: ScanReply) => {
      const p = slot.pending.get(reply.id);
      if (p === undefined) return;
      slot.pending.delete(reply.id);
      if ("error" in reply) p.reject(new Error(`the DLP scan failed: ${reply.error}`));
      else p.resolve({ verdict: reply.verdict, body: reply.bytes });
      this.#settled();
    });
    worker.on("error", (error) => fail(`failed: ${error.message}`));
    worker.on("exit", (code) => fail(`exited (code ${code})`));
    // An idle pool must not keep the process alive.
    worker.unref();
    this.#slots[index] = slot;
    return slot;
  }
}

/** The target with its body in an ArrayBuffer of its own, which postMessage can move. */
function movable(target: ScanTarget): { target: ScanTarget; transfer: ArrayBuffer[] } {
  const body = target.body;
  if (body === undefined) return { target, transfer: [] };
  let bytes = body.bytes;
  const whole =
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  // A slice of a larger (pooled) buffer: copy it rather than move its neighbours away.
  if (!whole) bytes = new Uint8Array(bytes);
  return {
    target: { ...target, body: { ...body, bytes } },
    transfer: [bytes.buffer as ArrayBuffer],
  };
}

/** The worker's side: builds the scanner once, then answers scans until terminated. */
export function serveScanRequests(): void {
  if (isMainThread || parentPort === null) throw new Error("serveScanRequests runs in a worker");
  const port = parentPort;
  const scanner = createDlpScanner((workerData as { scanner: WorkerScannerOptions }).scanner);
  port.on("message", (request: ScanRequest) => {
    const bytes = request.target.body?.bytes;
    let reply: ScanReply;
    try {
      const verdict = scanner.scan(request.target, {
        allowedSecrets: new Set(request.allowedSecrets),
      });
      reply = { id: request.id, verdict, bytes };
    } catch (error) {
      reply = {
        id: request.id,
        error: error instanceof Error ? error.message : String(error),
        bytes,
      };
    }
    port.postMessage(reply, bytes === undefined ? [] : [bytes.buffer as ArrayBuffer]);
  });
}

/** Whether this thread was started by a scan pool (see createScanWorkerPool's `entry`). */
export function isScanWorker(): boolean {
  return !isMainThread && (workerData as { role?: unknown } | null)?.role === SCAN_WORKER_ROLE;
}
