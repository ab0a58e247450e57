/** Colour and bold escapes (`ESC [ ... m`), as `drbdadm status` prints them on a terminal or a paste keeps them. */
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');

export function stripAnsi(text: string): string {
  return text.replace(ansi, '');
}
