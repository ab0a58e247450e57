import type { Command } from 'commander';
import { registerDecode } from './decode/decode.js';
import { registerHosts } from './hosts.js';
import { registerPki } from './pki/pki.js';

/** One line per top-level command (or command group). */
export function registerCommands(program: Command): void {
  registerHosts(program);
  registerPki(program);
  registerDecode(program);
}
