/**
 * Colours only for a person at a terminal: the stream is a TTY, NO_COLOR is not set
 * (https://no-color.org: any non-empty value), and TERM is not "dumb". FORCE_COLOR=1 forces them.
 */
export function coloursEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '' && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

const codes = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof codes;

export interface Painter {
  readonly enabled: boolean;
  paint(colour: Colour, text: string): string;
}

export function painter(enabled: boolean): Painter {
  return { enabled, paint: (colour, text) => (enabled ? `\x1b[${codes[colour]}m${text}\x1b[0m` : text) };
}

/** For data printed on stdout and progress printed on stderr. */
export const stdoutPaint = (): Painter => painter(coloursEnabled(process.stdout));
export const stderrPaint = (): Painter => painter(coloursEnabled(process.stderr));
