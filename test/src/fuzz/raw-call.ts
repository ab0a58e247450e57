import { Client, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';

export interface RawOutcome {
  status: number;
  details: string;
  elapsedMs: number;
  /** Messages a server stream sent before it ended (or was cut at the deadline). */
  messages: number;
}

export function rawClient(address: string, creds: ChannelCredentials, serverName: string): Client {
  return new Client(address, creds, { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName, 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
}

/**
 * One call with raw bytes as the request, over a plain grpc-js client: no xsctl client middleware
 * (retries, error mapping) between the fuzzer and what the server answered. The deadline goes out
 * both as grpc-timeout and as xsctl's own deadline header, as the controller's client sends it.
 */
export function callRaw(client: Client, path: string, responseStream: boolean, body: Uint8Array, deadlineMs: number): Promise<RawOutcome> {
  const start = performance.now();
  const metadata = new Metadata();
  metadata.set('x-xsctl-timeout-ms', String(deadlineMs));
  const ser = (b: Buffer): Buffer => b;
  const de = (b: Buffer): Buffer => b;
  const deadline = Date.now() + deadlineMs;
  const buf = Buffer.from(body);
  return new Promise((resolve) => {
    const elapsed = () => Math.round(performance.now() - start);
    if (!responseStream) {
      client.makeUnaryRequest(path, ser, de, buf, metadata, { deadline }, (err: ServiceError | null) => {
        resolve(err === null ? { status: 0, details: '', elapsedMs: elapsed(), messages: 1 } : { status: err.code, details: err.details, elapsedMs: elapsed(), messages: 0 });
      });
      return;
    }
    const call = client.makeServerStreamRequest(path, ser, de, buf, metadata, { deadline });
    let messages = 0;
    let settled = false;
    const settle = (status: number, details: string) => {
      if (settled) return;
      settled = true;
      resolve({ status, details, elapsedMs: elapsed(), messages });
    };
    call.on('data', () => {
      messages++;
    });
    call.on('error', (err: ServiceError) => settle(err.code, err.details));
    call.on('status', (s: { code: number; details: string }) => settle(s.code, s.details));
  });
}
