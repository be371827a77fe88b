import { describe, expect, it } from "vitest";
import { closeFrame, WsFrameReader, WsProtocolError } from "../../src/shared/websocket-frames.js";
import { wsFrame } from "../support/sidecars/pipelock-proxy-fixture.js";

describe("WsFrameReader", () => {
  it("unmasks payloads and keeps raw frames, across arbitrary chunk boundaries", () => {
    const frames = Buffer.concat([
      wsFrame("hello", true),
      wsFrame("x".repeat(300), true, 2),
      wsFrame("y".repeat(70_000), true, 1, false),
    ]);
    for (const step of [1, 3, 7, 1000, frames.length]) {
      const reader = new WsFrameReader(1 << 20);
      const out = [];
      for (let i = 0; i < frames.length; i += step)
        out.push(...reader.push(frames.subarray(i, i + step)));
      expect(out.map((f) => [f.opcode, f.fin, f.masked, f.payload.length])).toEqual([
        [1, true, true, 5],
        [2, true, true, 300],
        [1, false, true, 70_000],
      ]);
      expect(out[0]?.payload.toString()).toBe("hello");
      expect(Buffer.concat(out.map((f) => f.raw))).toEqual(frames);
    }
    // 70,000 one-byte pushes take 1.6 s alone; more on a machine busy with engine tests.
  }, 30_000);

  it("refuses frames over the limit, oversized control frames and unknown opcodes", () => {
    const tooBig = () => new WsFrameReader(10).push(wsFrame("x".repeat(11), true));
    expect(tooBig).toThrow(WsProtocolError);
    expect(() => new WsFrameReader(1000).push(wsFrame("x".repeat(200), true, 9))).toThrow(
      "malformed control frame",
    );
    expect(() => new WsFrameReader(1000).push(Buffer.from([0x83, 0x80, 0, 0, 0, 0]))).toThrow(
      "unknown opcode 3",
    );
  });
});

describe("closeFrame", () => {
  it("encodes a code and a reason cut to fit", () => {
    const frame = closeFrame(1008, "r".repeat(200));
    expect(frame[0]).toBe(0x88);
    expect(frame[1]).toBe(125);
    expect(frame.readUInt16BE(2)).toBe(1008);
  });
});
