// Apart from target-service.ts so the method-lock table can name it without loading the tgt code.
export const targetsConfPath = '/etc/tgt/targets.conf';
