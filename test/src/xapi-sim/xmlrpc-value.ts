import type { XapiValue } from './xapi-value.js';

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * XAPI stores an Async task's result as an XML-RPC `<value>` even on the JSON-RPC endpoint
 * (e.g. `<value>OpaqueRef:…</value>` for VM.clone); clients parse it back. int64 goes as a
 * string, as in XAPI's XML-RPC mapping. `undefined` (a void method) becomes `''`.
 */
export function encodeTaskResult(value: XapiValue | undefined | null): string {
  if (value === undefined || value === null) return '';
  return encodeValue(value);
}

function encodeValue(value: XapiValue): string {
  if (typeof value === 'string') return `<value>${escapeXml(value)}</value>`;
  if (typeof value === 'boolean') return `<value><boolean>${value ? 1 : 0}</boolean></value>`;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `<value>${value}</value>` : `<value><double>${value}</double></value>`;
  }
  if (Array.isArray(value)) return `<value><array><data>${value.map(encodeValue).join('')}</data></array></value>`;
  const members = Object.entries(value)
    .map(([k, v]) => `<member><name>${escapeXml(k)}</name>${encodeValue(v)}</member>`)
    .join('');
  return `<value><struct>${members}</struct></value>`;
}
