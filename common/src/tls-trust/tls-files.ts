import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors/index.js';

/** Paths to one party's certificate, key and the CA it trusts. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new ConfigError(path, 'cannot read TLS file', { cause: err });
    }
  };
  return { ca: await read(files.ca), cert: await read(files.cert), key: await read(files.key) };
}
