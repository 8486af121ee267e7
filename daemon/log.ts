/**
 * The daemon's log: one line per event on stderr. `tether daemon start`
 * points stderr at daemon.log in the state dir; under systemd it goes to the journal.
 */
export function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}
