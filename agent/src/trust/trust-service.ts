import type { TrustServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/trust';
import { ValidationError } from '@xsctl/common/errors/index';
import { maxCrlBytes } from '@xsctl/common/tls-trust/index';
import type { AgentTrust } from './agent-trust.js';

export function trustService(trust: AgentTrust): TrustServiceImplementation {
  return {
    async putRevocationList(request, { signal }) {
      if (request.crlPem === '' || Buffer.byteLength(request.crlPem) > maxCrlBytes) throw new ValidationError('crl_pem', `a PEM X509 CRL of at most ${maxCrlBytes} bytes`);
      const { list, installed } = await trust.install(request.crlPem, signal);
      return { number: list.number, installed, nextUpdate: list.nextUpdate?.toISOString() ?? '' };
    },
  };
}
