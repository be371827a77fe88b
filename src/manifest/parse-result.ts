// The result of the hand-written value parsers: the value, or the message for the user.
export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

export function parsed<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function refused(message: string): { ok: false; message: string } {
  return { ok: false, message };
}
