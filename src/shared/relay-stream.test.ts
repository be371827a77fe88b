import { PassThrough, Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { PrematureCloseError, relayStream } from "./relay-stream.js";

/** A destination that takes one chunk per tick, holding at most 4 bytes: it pushes back. */
function slowSink(): { sink: Writable; received: Buffer[] } {
  const received: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      setImmediate(callback);
    },
  });
  return { sink, received };
}

function relayed(from: Readable, to: Writable): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let calls = 0;
    relayStream(from, to, (error) => {
      calls++;
      expect(calls).toBe(1);
      setImmediate(() => resolve(error));
    });
  });
}

/** Relays between two pass-throughs, writes part of a body, then lets `cut` break one end. */
async function relayCutShort(cut: (source: PassThrough, sink: PassThrough) => void) {
  const source = new PassThrough();
  const sink = new PassThrough();
  const outcome = relayed(source, sink);
  source.write("partial");
  cut(source, sink);
  return { error: await outcome, source, sink };
}

describe("relayStream", () => {
  it("delivers every chunk in order, with backpressure, and reports success once", async () => {
    const chunks = Array.from({ length: 200 }, (_, i) => Buffer.from(`chunk ${i};`));
    const { sink, received } = slowSink();
    let pausedOnce = false;
    const source = Readable.from(chunks, { objectMode: false, highWaterMark: 8 });
    source.on("pause", () => {
      pausedOnce = true;
    });
    expect(await relayed(source, sink)).toBeUndefined();
    expect(Buffer.concat(received).toString()).toBe(Buffer.concat(chunks).toString());
    expect(pausedOnce).toBe(true);
    expect(sink.writableFinished).toBe(true);
  });

  it("destroys the destination when the source fails, and reports the source's error", async () => {
    const { error, sink } = await relayCutShort((source) => {
      source.destroy(new Error("upstream reset"));
    });
    expect(error?.message).toBe("upstream reset");
    expect(sink.destroyed).toBe(true);
    expect(sink.writableFinished).toBe(false);
  });

  it("treats a source closed before its end as a failure, so a cut body never looks whole", async () => {
    const { error, sink } = await relayCutShort((source) => {
      source.destroy();
    });
    expect(error).toBeInstanceOf(PrematureCloseError);
    expect(error?.message).toBe("the source closed before the body was complete");
    expect(sink.destroyed).toBe(true);
  });

  it("destroys the source when the destination goes away first", async () => {
    const { error, source } = await relayCutShort((_source, sink) => {
      sink.destroy();
    });
    expect(error?.message).toBe("the destination closed before the body was complete");
    expect(source.destroyed).toBe(true);
  });

  it("passes an empty body through and finishes the destination", async () => {
    const sink = new PassThrough();
    sink.resume();
    expect(await relayed(Readable.from([]), sink)).toBeUndefined();
    expect(sink.writableFinished).toBe(true);
  });
});
