// Apart from drbd-service.ts so the method-lock table can name them without loading the DRBD code.
export const drbdConfPath = '/etc/drbd.conf';
export const lvmConfPath = '/etc/lvm/lvm.conf';
