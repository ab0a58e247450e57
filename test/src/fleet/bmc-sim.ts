import { execa, type ResultPromise } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A host's BMC: OpenIPMI's `ipmi_sim` answering IPMI over LAN (RMCP+) on loopback, with a fence
 * user. Its chassis control is bmc-chassis.mjs, which powers the fleet host off for real (see
 * there) or, without a host, only records the state.
 */
export interface BmcSim {
  address: string;
  port: number;
  user: string;
  password: string;
  passwordFile: string;
  stateFile: string;
  close(): Promise<void>;
}

export interface BmcHostPower {
  ns: string;
  switchNs: string;
  /** Switch-side ends of the host's cables. */
  ports: string[];
  /** iface -> the host's own address there (kept across power cycles; any other address goes). */
  keep: Record<string, string>;
  /** The DRBD simulator and this node's environment, for `drbdsetup down all` at power-off. */
  sim: { script: string; env: Record<string, string> };
}

const chassisScript = () => {
  const here = dirname(fileURLToPath(import.meta.url));
  // From dist/fleet the script still lives in src/fleet.
  return here.includes('/dist/') ? join(here, '..', '..', 'src', 'fleet', 'bmc-chassis.sh') : join(here, 'bmc-chassis.sh');
};

export async function startBmcSim(o: { dir: string; name: string; port?: number; host?: BmcHostPower; stuck?: boolean }): Promise<BmcSim> {
  await mkdir(join(o.dir, 'state'), { recursive: true });
  const port = o.port ?? 20_000 + Math.floor(Math.random() * 40_000);
  const user = 'fence';
  const password = `bmc-${Math.random().toString(36).slice(2, 10)}`;
  const passwordFile = join(o.dir, 'bmc.pw');
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  const stateFile = join(o.dir, 'power'); // bmc-chassis.sh reads DIR/power
  await writeFile(stateFile, '1');
  const chassisConfig = join(o.dir, 'chassis.json');
  await writeFile(chassisConfig, JSON.stringify({ stateFile, ns: '', switchNs: '', ports: [], keep: {}, sim: { script: '', env: {} }, ...o.host, stuck: o.stuck === true }));
  // ipmi_sim runs the chassis command with its own arguments appended (get power / set power N).
  const lan = [
    `name "${o.name}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr 127.0.0.1 ${port}`,
    '    priv_limit admin',
    '    allowed_auths_callback md5',
    '    allowed_auths_user md5',
    '    allowed_auths_operator md5',
    '    allowed_auths_admin md5',
    '    guid a123456789abcdefa123456789abcdef',
    '  endlan',
    `  chassis_control "${chassisScript()} ${o.dir}"`,
    `  user 2 true "${user}" "${password}" operator 10 md5`,
    '',
  ].join('\n');
  await writeFile(join(o.dir, 'lan.conf'), lan, { mode: 0o600 });
  // mc_setbmc before mc_add: ipmi_sim 1.0.13 crashes adding an MC before it knows the BMC.
  await writeFile(join(o.dir, 'bmc.emu'), 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 0x09 0x08 0x9f 0x1291 0xf02 persist_sdr\nsel_enable 0x20 1000 0x0a\nmc_enable 0x20\n');
  const child: ResultPromise = execa('ipmi_sim', ['-c', join(o.dir, 'lan.conf'), '-f', join(o.dir, 'bmc.emu'), '-s', join(o.dir, 'state'), '-n'], { stdio: 'ignore', env: { XSCTL_NODE: process.execPath }, reject: false });
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  await new Promise((r) => setTimeout(r, 300));
  if (exited) throw new Error('ipmi_sim exited at start');
  return {
    address: '127.0.0.1',
    port,
    user,
    password,
    passwordFile,
    stateFile,
    async close() {
      if (!exited) child.kill('SIGTERM');
      // ipmi_sim may sit in a chassis command: do not wait for ever.
      const hard = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await child;
      clearTimeout(hard);
    },
  };
}
