
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from './journal.js';
import { migrations } from './migrations.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const latest = migrations[migrations.length - 1]?.version;

describe('Journal', () => {
  it('migrates once and survives reopening', async () => {
    const path = join(await tempDir('xsctl-j-'), 'j.sqlite');
    const a = new Journal(path);
    expect(a.schemaVersion).toBe(latest);
    a.db.prepare("INSERT INTO workflow VALUES ('w1','demo','rolling-upgrade','running','{}','alice','t','t')").run();
    a.close();
    const b = new Journal(path);
    expect(b.schemaVersion).toBe(latest);
    expect(b.db.prepare('SELECT count(*) AS n FROM workflow').get()).toEqual({ n: 1 });
    b.close();
  });

  it('refuses a second active workflow on the same pool', () => {
    const j = new Journal(':memory:');
    j.db.prepare("INSERT INTO workflow VALUES ('w1','demo','rolling-upgrade','running','{}','alice','t','t')").run();
    expect(() => j.db.prepare("INSERT INTO workflow VALUES ('w2','demo','precheck','running','{}','bob','t','t')").run()).toThrow(/UNIQUE/);
    j.db.prepare("INSERT INTO workflow VALUES ('w3','other','rolling-upgrade','running','{}','bob','t','t')").run();
    j.db.prepare("UPDATE workflow SET state='done' WHERE id='w1'").run();
    j.db.prepare("INSERT INTO workflow VALUES ('w4','demo','rolling-upgrade','running','{}','bob','t','t')").run();
    j.close();
  });
});
