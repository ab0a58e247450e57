/**
 * Offline decoders: admins paste output from any host (no agent needed). Each entry reuses the
 * agent's pure parser. `render` is the human form; `--json` prints the decoded object as is.
 */
export interface Decoder {
  description: string;
  decode(input: string): unknown;
  render?(decoded: unknown): string;
}

const decoders = new Map<string, Decoder>();

export function registerDecoder(name: string, decoder: Decoder): void {
  if (decoders.has(name)) throw new Error(`decoder ${name} registered twice`);
  decoders.set(name, decoder);
}

export function getDecoder(name: string): Decoder | undefined {
  return decoders.get(name);
}

export function decoderNames(): string[] {
  return [...decoders.keys()].sort();
}
