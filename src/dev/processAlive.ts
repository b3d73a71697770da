/** Whether a process with this id runs: what a scratch database named after its creator's pid needs to know. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
