export * from './fan-out-signal.js';
export * from './signal-within.js';
