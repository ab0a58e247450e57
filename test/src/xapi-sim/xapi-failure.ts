/**
 * A failure the simulated XAPI returns to its client: `code` is XAPI's error name verbatim
 * (e.g. HANDLE_INVALID) and `params` its string parameters, exactly as they go on the wire.
 */
export class XapiFailure extends Error {
  constructor(
    readonly code: string,
    readonly params: readonly string[] = [],
  ) {
    super(`${code}(${params.join(', ')})`);
    this.name = 'XapiFailure';
  }
}

export function handleInvalid(cls: string, ref: string): XapiFailure {
  return new XapiFailure('HANDLE_INVALID', [cls, ref]);
}
