// Apart from boot-role.ts so the method-lock table can name it without loading the storage code.
export const storageRoleConfigPath = '/etc/xsctl/storage.yaml';
