/** Listeners one XAPI call keeps on its signal while it runs: p-retry's and the call's own guard. */
export const listenersPerXapiCall = 2;
