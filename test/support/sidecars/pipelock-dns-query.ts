// DNS queries in wire format, as a DNS-over-HTTPS client sends them.

/** A DNS query for `names` (one question each), with an EDNS OPT record when `opt`. */
export function dnsQuery(names: readonly string[], opt = false): Buffer {
  const header = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, names.length, 0, 0, 0, 0, 0, opt ? 1 : 0]);
  const questions = names.map((name) =>
    Buffer.concat([
      encodeName(name),
      Buffer.from([0, 1, 0, 1]), // A, IN
    ]),
  );
  const optRecord = Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...questions, ...(opt ? [optRecord] : [])]);
}

export function encodeName(name: string): Buffer {
  const labels = name === "" ? [] : name.split(".");
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])),
    Buffer.from([0]),
  ]);
}
