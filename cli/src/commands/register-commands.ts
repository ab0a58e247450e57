import type { Command } from 'commander';
import { registerDecode } from './decode/decode.js';
import { registerHosts } from './hosts.js';
import { registerPki } from './pki/pki.js';
import { registerMultipath } from './multipath/multipath.js';
import { registerScsi } from './scsi/scsi.js';
import { registerUpgrade } from './upgrade/upgrade.js';
import { registerStorageCommands } from './storage/storage.js';
import { registerPrecheck } from './precheck.js';
import { registerBlobs } from './blobs/blobs.js';
import { registerDashboard } from './dashboard/dashboard.js';
import { registerCompletion } from './completion/completion.js';

/** One line per top-level command (or command group). */
export function registerCommands(program: Command): void {
  registerHosts(program);
  registerPki(program);
  registerDecode(program);
  registerMultipath(program);
  registerScsi(program);
  registerUpgrade(program);
  registerStorageCommands(program);
  registerPrecheck(program);
  registerBlobs(program);
  registerDashboard(program);
  registerCompletion(program);
}
