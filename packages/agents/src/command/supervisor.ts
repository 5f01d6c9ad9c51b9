/**
 * The program every command agent's command runs under: a few lines of plain
 * JavaScript that `node -e` runs (no file to find, no build step), as the
 * leader of a new process group.
 *
 * Why a supervisor: a command must not outlive its worker. When the worker is
 * killed with SIGKILL it cannot signal anything, and an orphaned Claude Code
 * would go on editing files while another worker redoes the task. The
 * supervisor holds one end of a socket (fd 3) whose other end only the worker
 * holds; the kernel closes that end when the worker dies, however it dies,
 * and the supervisor then takes its whole process group down (SIGTERM, then
 * SIGKILL after the grace period). It also reports on fd 3 the command's pid,
 * its exit code and signal, or why it could not start.
 *
 * The command inherits the supervisor's stdin, stdout and stderr (pipes to
 * the worker): nothing is copied through this process.
 */
export const SUPERVISOR_SOURCE = String.raw`'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const cfg = JSON.parse(process.argv[1]);
const ctl = new net.Socket({ fd: 3, readable: true, writable: true });
const say = (m) => { try { ctl.write(JSON.stringify(m) + '\n'); } catch {} };
const env = { ...process.env };
if (typeof cfg.nodeOptions === 'string') env.NODE_OPTIONS = cfg.nodeOptions; else delete env.NODE_OPTIONS;
// The worker signals the whole group; the command gets it too and we wait for it to exit.
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => {});
let orphaned = false;
const orphan = () => {
  if (orphaned) return;
  orphaned = true;
  try { process.kill(-process.pid, 'SIGTERM'); } catch {}
  setTimeout(() => { try { process.kill(-process.pid, 'SIGKILL'); } catch {} process.exit(137); }, cfg.graceMs).unref();
};
ctl.on('end', orphan);
ctl.on('error', orphan);
ctl.resume();
const failed = (e) => {
  say({ spawnError: String((e && e.message) || e), code: e && e.code });
  ctl.end(() => process.exit(127));
};
let child;
try {
  child = spawn(cfg.file, cfg.args, { stdio: 'inherit', shell: cfg.shell, env });
} catch (e) {
  child = null;
  failed(e);
}
if (child) {
child.on('spawn', () => say({ pid: child.pid }));
child.on('error', failed);
child.on('exit', (code, signal) => {
  // Orphaned: whatever the command left behind in the group goes too.
  if (orphaned) { try { process.kill(-process.pid, 'SIGKILL'); } catch {} }
  say({ exit: code, signal });
  ctl.off('end', orphan);
  ctl.off('error', orphan);
  ctl.end(() => process.exit(code === null ? 1 : code));
});
}
`;
