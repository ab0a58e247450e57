import { describe, expect, it } from 'vitest';
import { XapiDb } from './xapi-db.js';

describe('XapiDb.classGeneration: when a row of a class last changed', () => {
  it('moves with a create, a write and a delete of that class only; a touch or an inject leaves it', () => {
    // A new database hands out generations from 2; each step below takes the next one(s), by hand:
    const db = new XapiDb();
    expect(db.classGeneration('VM')).toBe(0);
    const host = db.create('host', { name_label: 'h1' }); // 2
    const vm = db.create('VM', { name_label: 'vm1', resident_on: host }); // 3, and the host touched (resident_VMs): 4
    expect(db.generation).toBe(4);
    expect(db.classGeneration('VM')).toBe(3);
    expect(db.classGeneration('host')).toBe(2);
    // A task (every XAPI call makes one) is another class: the VM class stays where it was.
    db.create('task', { name_label: 'call' }); // 5
    expect(db.classGeneration('VM')).toBe(3);
    expect(db.classGeneration('task')).toBe(5);
    db.update('VM', vm, { name_label: 'vm1b' }); // 6
    expect(db.classGeneration('VM')).toBe(6);
    db.inject('VM', vm); // 7: marked modified, no field changed
    expect(db.classGeneration('VM')).toBe(6);
    db.destroy('VM', vm); // 8, and the host touched: 9
    expect(db.generation).toBe(9);
    expect(db.classGeneration('VM')).toBe(8);
    expect(db.classGeneration('host')).toBe(2);
  });
});
